// The platform of the browser build: tsup.config.ts puts this file in place of current.ts.
export { webPlatform as platform } from './web.js';
