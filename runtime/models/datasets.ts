import { readFile } from 'node:fs/promises';
import { describeError } from '../../core/errors.ts';
import { ModelNotFoundError } from './errors.ts';

/** Pinned inputs a candidate must score sanely (models/fixtures/fraud-v1.json, N/fixtures.json). */
export interface FixtureSet {
  readonly featureNames: readonly string[];
  /** Row-major [cases, features] float32, ready to be a tensor. */
  readonly features: Float32Array;
  readonly cases: number;
}

/** Labelled rows for the AUC comparison (N/holdout.csv). */
export interface HeldOutSet {
  readonly featureNames: readonly string[];
  readonly features: Float32Array;
  readonly labels: Uint8Array;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ModelNotFoundError(`${what} ${path} cannot be read (${describeError(error)}) — models/train.py writes one into every version`);
  }
}

/**
 * Reads a fixture file: `{ featureNames, cases: [{ features: number[], score? }] }`.
 *
 * @example
 * const fixtures = await loadFixtures('models/fixtures/fraud-v1.json'); // fixtures.cases === 20
 */
export async function loadFixtures(path: string): Promise<FixtureSet> {
  const json = JSON.parse(await readText(path, 'fixture file')) as { featureNames?: unknown; cases?: unknown };
  const names = json.featureNames;
  const cases = json.cases;
  if (!Array.isArray(names) || !Array.isArray(cases) || cases.length === 0) {
    throw new ModelNotFoundError(`fixture file ${path} needs featureNames and a non-empty cases array`);
  }
  const width = names.length;
  const features = new Float32Array(cases.length * width);
  cases.forEach((c: { features?: unknown }, i) => {
    if (!Array.isArray(c.features) || c.features.length !== width) {
      throw new ModelNotFoundError(`fixture file ${path}: case ${i} needs ${width} features, one per featureNames entry`);
    }
    features.set(c.features as number[], i * width);
  });
  return { featureNames: names as string[], features, cases: cases.length };
}

/**
 * Reads a held-out CSV: a header of feature names then `label`, one row per transaction.
 *
 * @example
 * const heldOut = await loadHeldOut('models/fraud/1/holdout.csv'); // 1000 rows, 300 labelled 1
 */
export async function loadHeldOut(path: string): Promise<HeldOutSet> {
  const lines = (await readText(path, 'held-out file')).trimEnd().split('\n');
  const header = lines[0]!.split(',');
  if (header.at(-1) !== 'label' || lines.length < 2) {
    throw new ModelNotFoundError(`held-out file ${path} needs a header ending in "label" and at least one row`);
  }
  const width = header.length - 1;
  const rows = lines.length - 1;
  const features = new Float32Array(rows * width);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const cells = lines[r + 1]!.split(',').map(Number);
    if (cells.length !== width + 1) throw new ModelNotFoundError(`held-out file ${path}: line ${r + 2} has ${cells.length} columns, the header ${width + 1}`);
    features.set(cells.slice(0, width), r * width);
    labels[r] = cells[width] === 1 ? 1 : 0;
  }
  return { featureNames: header.slice(0, width), features, labels };
}
