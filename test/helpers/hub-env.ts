import { afterEach, beforeEach, vi } from 'vitest';

const HUB_ENV = ['HF_HUB_OFFLINE', 'HF_TOKEN', 'HF_ENDPOINT', 'LANGCHAIN_CROSS_ENCODER_CACHE'];

/** Blanks the hub's environment variables around each test, so a developer's own settings cannot leak in. */
export function isolateHubEnv(): void {
  beforeEach(() => {
    for (const name of HUB_ENV) vi.stubEnv(name, '');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
}
