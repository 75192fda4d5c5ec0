import { InvalidArgumentError } from '../errors.js';

/**
 * Which weights file to run. The names follow the hub layout used by transformers.js models:
 * `fp32` → `onnx/model.onnx`, `int8` → `onnx/model_quantized.onnx` (dynamic int8 quantization), `fp16` → `onnx/model_fp16.onnx`.
 */
export type ModelVariant = 'fp32' | 'int8' | 'fp16';

const VARIANT_FILES: Record<ModelVariant, string> = {
  fp32: 'onnx/model.onnx',
  int8: 'onnx/model_quantized.onnx',
  fp16: 'onnx/model_fp16.onnx',
};

/** The repository path of the ONNX file: an explicit `onnxFile` wins over the variant. */
export function onnxPathFor(variant: ModelVariant | undefined, onnxFile: string | undefined): string {
  if (onnxFile !== undefined) {
    if (typeof onnxFile !== 'string' || !onnxFile.endsWith('.onnx')) {
      throw new InvalidArgumentError(
        'options.onnxFile',
        `expected a path ending in .onnx inside the model, got ${JSON.stringify(onnxFile)}.`,
      );
    }
    return onnxFile;
  }
  const chosen = variant ?? 'fp32';
  const path = VARIANT_FILES[chosen];
  if (path === undefined) {
    throw new InvalidArgumentError(
      'options.variant',
      `expected one of ${Object.keys(VARIANT_FILES).join(', ')}, got ${JSON.stringify(variant)}.`,
    );
  }
  return path;
}
