import { defineConfig } from 'vite';

// The scoring worker loads ONNX Runtime and the tokenizer with dynamic imports and top-level await, which only ES
// module workers can hold (Vite's default worker format, 'iife', fails the build with INVALID_TLA_FORMAT).
export default defineConfig({ worker: { format: 'es' } });
