import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ModelError } from '../../core/errors.ts';

/** One tensor as the Open Inference Protocol describes it in model metadata. */
export interface TensorMetadata {
  name: string;
  datatype: string;
  /** -1 for a variable dimension (the batch). */
  shape: number[];
}

/** What the service needs to know about the model it serves. */
export interface ServedModel {
  /** The name in the URL (`/v2/models/<name>`). */
  name: string;
  /** The version reported in metadata and each response. */
  version: string;
  /** The ONNX file the pool loads. */
  path: string;
  input: TensorMetadata;
  output: TensorMetadata;
  /** Features per row, when the model's metadata says; undefined accepts any and lets the model judge. */
  columns: number | undefined;
}

interface Sidecar {
  version?: unknown;
  input?: { name?: unknown; type?: unknown; shape?: unknown };
  output?: { name?: unknown; type?: unknown; shape?: unknown };
}

/**
 * Turns the `model` argument of `sluice serve` into the model to serve. Today: an `.onnx` file,
 * described by the `<model>.json` beside it (version, input and output tensors) as
 * `npm run train` writes it; without one the file name is the version and the tensors are
 * `input`/`output` of any width. The one place to change when model directories with versions
 * arrive.
 *
 * @example
 * resolveModel('models/fraud-v1.onnx') // { name: 'fraud-v1', version: 'fraud-v1', columns: 10, ... }
 */
export function resolveModel(modelPath: string, name?: string): ServedModel {
  const path = resolve(modelPath);
  if (!existsSync(path)) throw new ModelError(`model file not found: ${modelPath} — run \`npm run train\` to build it, or name an existing .onnx file`);
  if (statSync(path).isDirectory()) throw new ModelError(`${modelPath} is a directory — serve one .onnx file (model directories with versions are not supported yet)`);
  const stem = basename(path).replace(/\.onnx$/, '');
  const sidecar = readSidecar(path.replace(/\.onnx$/, '.json'));
  const columns = widthOf(sidecar.input?.shape);
  return {
    name: name ?? stem,
    version: typeof sidecar.version === 'string' ? sidecar.version : stem,
    path,
    input: { name: stringOr(sidecar.input?.name, 'input'), datatype: 'FP32', shape: [-1, columns ?? -1] },
    output: { name: stringOr(sidecar.output?.name, 'output'), datatype: 'FP32', shape: [-1, widthOf(sidecar.output?.shape) ?? 1] },
    columns,
  };
}

function readSidecar(path: string): Sidecar {
  if (!existsSync(path)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Sidecar) : {};
  } catch (error) {
    throw new ModelError(`model metadata ${path} is not valid JSON — fix or delete it`, { cause: error });
  }
}

/** The last dimension of a `["batch", 10]` shape, when it is a number. */
function widthOf(shape: unknown): number | undefined {
  if (!Array.isArray(shape) || shape.length !== 2) return undefined;
  const width: unknown = shape[1];
  return typeof width === 'number' && Number.isInteger(width) && width > 0 ? width : undefined;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}
