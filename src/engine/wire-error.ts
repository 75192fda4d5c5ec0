import {
  AbortError,
  CrossEncoderError,
  DisposedError,
  InvalidArgumentError,
  ModelFormatError,
  ModelNotFoundError,
  NonFiniteScoreError,
} from '../errors.js';

/** An error as it crosses a thread boundary: structured clone keeps only plain data. */
export interface WireError {
  name: string;
  code?: string;
  message: string;
  parameter?: string;
  file?: string;
  url?: string;
  status?: number;
}

/** Flattens an error for `postMessage`. */
export function toWire(error: unknown): WireError {
  if (error instanceof Error) {
    const fields = error as Error & Partial<WireError>;
    return {
      name: error.name,
      message: error.message,
      ...(fields.code === undefined ? {} : { code: fields.code }),
      ...(fields.parameter === undefined ? {} : { parameter: fields.parameter }),
      ...(fields.file === undefined ? {} : { file: fields.file }),
      ...(fields.url === undefined ? {} : { url: fields.url }),
      ...(fields.status === undefined ? {} : { status: fields.status }),
    };
  }
  return { name: 'Error', message: String(error) };
}

/** Rebuilds the typed error a worker threw, so callers can still catch it by class. */
export function fromWire(wire: WireError): Error {
  switch (wire.name) {
    case 'InvalidArgumentError': {
      const parameter = wire.parameter ?? 'input';
      const error = new InvalidArgumentError(parameter, '');
      error.message = wire.message;
      return error;
    }
    case 'ModelNotFoundError':
      return new ModelNotFoundError(wire.message);
    case 'ModelFormatError':
      return new ModelFormatError(wire.message, wire.file === undefined ? {} : { file: wire.file });
    case 'NonFiniteScoreError':
      return new NonFiniteScoreError(wire.message);
    case 'AbortError':
      return new AbortError(wire.message);
    case 'DisposedError':
      return new DisposedError();
    default: {
      const error = new CrossEncoderError(wire.code ?? 'INTERNAL', wire.message);
      error.name = wire.name;
      return error;
    }
  }
}
