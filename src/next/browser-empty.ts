// What a browser bundle gets for a Node module that @mlc-ai/web-tokenizers imports on its Node path only (`module`,
// `url`, `fs`, `path`): nothing, as that path is never taken in a browser. withCrossEncoder aliases them here.
export {};
