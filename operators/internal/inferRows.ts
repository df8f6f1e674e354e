import type { InputTensor } from '../../core/inference.ts';
import type { Envelope } from '../../core/record.ts';

/** An extra input tensor of the model, fed from each value: `columns` numbers per record. */
export interface TensorInput<T> {
  readonly values: (value: T) => ArrayLike<number>;
  readonly columns: number;
  /** float32 (default) or int64 (values must be integers). */
  readonly dtype?: 'float32' | 'int64';
}

/**
 * Copies one feature vector into the batch; returns why it cannot be scored, if so.
 *
 * @example
 * writeRow([0.1, 0.2], batch, 0, 2); // undefined: written
 * writeRow([NaN, 0.2], batch, 2, 2); // 'feature 0 is not a finite number (NaN)'
 */
export function writeRow(row: ArrayLike<number>, into: Float32Array, offset: number, columns: number): string | undefined {
  if (row.length !== columns) return `expected ${columns} features, got ${row.length}`;
  for (let i = 0; i < columns; i += 1) {
    const value = row[i]!;
    if (!Number.isFinite(value)) return `feature ${i} is not a finite number (${String(value)})`;
    into[offset + i] = value;
  }
  return undefined;
}

/**
 * Why a value's extra inputs cannot be scored (wrong width, non-finite, a fraction for int64), if so.
 *
 * @example
 * inputProblem([['country', { values: (v) => [v.country], columns: 1, dtype: 'int64' }]], { country: 1.5 });
 * // 'input country: value 0 is not an integer (1.5)'
 */
export function inputProblem<T>(inputs: ReadonlyArray<readonly [string, TensorInput<T>]>, value: T): string | undefined {
  for (const [name, input] of inputs) {
    const values = input.values(value);
    if (values.length !== input.columns) return `input ${name}: expected ${input.columns} values, got ${values.length}`;
    for (let i = 0; i < input.columns; i += 1) {
      const v = values[i]!;
      if (!Number.isFinite(v)) return `input ${name}: value ${i} is not a finite number (${String(v)})`;
      if (input.dtype === 'int64' && !Number.isInteger(v)) return `input ${name}: value ${i} is not an integer (${v})`;
    }
  }
  return undefined;
}

/**
 * The extra input tensors of a batch's records (each already passed {@link inputProblem}).
 *
 * @example
 * tensorsOf([['country', { values: (v) => [v.country], columns: 1, dtype: 'int64' }]], records).country.data; // BigInt64Array
 */
export function tensorsOf<T>(inputs: ReadonlyArray<readonly [string, TensorInput<T>]>, records: readonly Envelope<T>[]): Record<string, InputTensor> {
  const tensors: Record<string, InputTensor> = {};
  for (const [name, input] of inputs) {
    const columns = input.columns;
    if (input.dtype === 'int64') {
      const data = new BigInt64Array(records.length * columns);
      records.forEach((record, r) => {
        const values = input.values(record.value);
        for (let c = 0; c < columns; c += 1) data[r * columns + c] = BigInt(values[c]!);
      });
      tensors[name] = { data, columns };
    } else {
      const data = new Float32Array(records.length * columns);
      records.forEach((record, r) => data.set(Array.from(input.values(record.value)), r * columns));
      tensors[name] = { data, columns };
    }
  }
  return tensors;
}
