/** @type {import('next').NextConfig} */
export default {
  // The Node entry loads native addons (onnxruntime-node, tokenizers) and starts its scoring worker from a file
  // beside itself: the server requires it from node_modules instead of bundling it.
  serverExternalPackages: ['langchain-cross-encoder'],
  webpack(config, { isServer }) {
    // The browser build's tokenizer (@mlc-ai/web-tokenizers) names Node modules on a path browsers never take.
    if (!isServer) {
      config.resolve.fallback = { ...config.resolve.fallback, module: false, url: false, fs: false, path: false };
    }
    return config;
  },
};
