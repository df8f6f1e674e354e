import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ModelError } from '../../core/errors.ts';
import { resolveModel as resolveRegistryModel, type TensorSpec } from '../models/index.ts';

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
 * Turns the `model` argument of `sluice serve` into the model to serve:
 * - a registry directory (`models/fraud`: its newest valid version) or a pinned version
 *   (`models/fraud@1`), resolved by runtime/models, described by the version's manifest; the
 *   model name is the manifest's, the version its number (`"1"`, as Triton numbers versions);
 * - an `.onnx` file, described by the `<model>.json` beside it (version, tensors); without one
 *   the file name is the version and the tensors are `input`/`output` of any width.
 *
 * @example
 * await resolveModel('models/fraud-v1.onnx') // { name: 'fraud-v1', version: 'fraud-v1', columns: 10, ... }
 * await resolveModel('models/fraud@1')       // { name: 'fraud', version: '1', columns: 10, ... }
 */
export async function resolveModel(spec: string, name?: string): Promise<ServedModel> {
  if (spec.endsWith('.onnx')) return resolveFile(spec, name);
  const resolved = await resolveRegistryModel(spec);
  const manifest = resolved.manifest;
  if (manifest === undefined || resolved.version === undefined) return resolveFile(resolved.modelPath, name);
  const [input, output] = [manifest.inputs[0]!, manifest.outputs[0]!];
  if (manifest.inputs.length !== 1 || input.dtype !== 'float32' || input.shape.length !== 2) {
    throw new ModelError(`${resolved.id} takes ${manifest.inputs.map((t) => `${t.name} ${t.dtype}[${t.shape.join(', ')}]`).join(', ')} — sluice serve serves models with one float32 [batch, features] input`);
  }
  const columns = widthOf(input.shape);
  return {
    name: name ?? manifest.name,
    version: String(resolved.version),
    path: resolved.modelPath,
    input: { name: input.name, datatype: 'FP32', shape: [-1, columns ?? -1] },
    output: { name: output.name, datatype: datatypeOf(output), shape: [-1, widthOf(output.shape) ?? 1] },
    columns,
  };
}

/** The protocol's datatype of a manifest tensor (FP32 for the float32 scores Sluice models give). */
function datatypeOf(tensor: TensorSpec): string {
  return tensor.dtype === 'float32' ? 'FP32' : tensor.dtype === 'float64' ? 'FP64' : tensor.dtype.toUpperCase();
}

function resolveFile(modelPath: string, name: string | undefined): ServedModel {
  const path = resolve(modelPath);
  if (!existsSync(path)) throw new ModelError(`model file not found: ${modelPath} — run \`npm run train\` to build it, or name an existing .onnx file or model directory`);
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
