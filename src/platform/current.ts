// The platform this build runs on. The Node build (and source runs: tests, tsx) takes this file; the browser build
// (tsup.config.ts) swaps it for current.web.ts, so each bundle carries one platform and no other's bindings.
export { nodePlatform as platform } from './node.js';
