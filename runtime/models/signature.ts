import type { InferenceSession } from 'onnxruntime-node';
import type { TensorSpec } from './manifest.ts';

/** The tensors of a loaded model as onnxruntime reports them, in the manifest's terms. */
export interface Signature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

function specs(metadata: readonly InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((m) => (m.isTensor ? { name: m.name, dtype: m.type as TensorSpec['dtype'], shape: [...m.shape] } : { name: m.name, dtype: 'string', shape: ['non-tensor'] }));
}

/**
 * Reads a session's signature from `inputMetadata`/`outputMetadata` (onnxruntime-node ≥ 1.21).
 *
 * @example
 * sessionSignature(session).inputs[0]; // { name: 'features', dtype: 'float32', shape: ['batch', 10] }
 */
export function sessionSignature(session: InferenceSession): Signature {
  return { inputs: specs(session.inputMetadata), outputs: specs(session.outputMetadata) };
}

function show(t: TensorSpec): string {
  return `${t.name} ${t.dtype}[${t.shape.join(',')}]`;
}

// A symbolic axis ("batch", "N") matches any symbolic axis: exporters name them differently.
function sameShape(a: readonly (string | number)[], b: readonly (string | number)[]): boolean {
  return a.length === b.length && a.every((axis, i) => (typeof axis === 'string' ? typeof b[i] === 'string' : axis === b[i]));
}

/**
 * Differences between two signatures, one line each (empty when they match): names in order,
 * dtypes, and shapes (fixed axes equal, dynamic axes dynamic in both).
 *
 * @example
 * compareSignatures(candidate, manifest, 'the manifest');
 * // ['input 0 is x float32[batch,10], the manifest has features float32[batch,10]']
 */
export function compareSignatures(actual: Signature, expected: Signature, against: string): string[] {
  const reasons: string[] = [];
  for (const kind of ['inputs', 'outputs'] as const) {
    const have = actual[kind];
    const want = expected[kind];
    const noun = kind === 'inputs' ? 'input' : 'output';
    if (have.length !== want.length) {
      reasons.push(`${have.length} ${noun}s (${have.map(show).join('; ')}), ${against} has ${want.length} (${want.map(show).join('; ')})`);
      continue;
    }
    have.forEach((t, i) => {
      const w = want[i]!;
      if (t.name !== w.name || t.dtype !== w.dtype || !sameShape(t.shape, w.shape)) {
        reasons.push(`${noun} ${i} is ${show(t)}, ${against} has ${show(w)}`);
      }
    });
  }
  return reasons;
}
