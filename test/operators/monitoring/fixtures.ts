import { readFileSync } from 'node:fs';
import type { ReferenceHistogram } from '../../../core/drift/index.ts';
import { Random } from '../../../jobs/fraud/random.ts';
import { parseManifest, type Manifest } from '../../../runtime/models/index.ts';

/** The committed fraud model's manifest (version 1): real reference histograms. */
export const fraudManifest: Manifest = parseManifest(JSON.parse(readFileSync(new URL('../../../models/fraud/1/manifest.json', import.meta.url), 'utf8')) as unknown, 'models/fraud/1/manifest.json');

/** A manifest with one feature `a` and a score, small enough to compute PSI by hand. */
export function tinyManifest(a: ReferenceHistogram, score: ReferenceHistogram): Manifest {
  const copy = (h: ReferenceHistogram) => ({ edges: [...h.edges], proportions: [...h.proportions] });
  return { ...fraudManifest, name: 'tiny', version: 3, features: ['a'], reference: { rows: 100, features: { a: copy(a) }, score: copy(score) } };
}

/**
 * A value drawn from a reference histogram: a bin by its proportion, then a point inside it
 * (open end bins: one unit past the outer edge), so a stream of these follows the reference.
 */
export function sampler(seed: number): (histogram: ReferenceHistogram) => number {
  const random = new Random(seed);
  return ({ edges, proportions }) => {
    let pick = random.next();
    let bin = 0;
    while (bin < proportions.length - 1 && pick >= proportions[bin]!) pick -= proportions[bin++]!;
    if (bin === 0) return edges[0]! - 1;
    if (bin === edges.length) return edges[edges.length - 1]! + 1;
    return edges[bin - 1]! + (edges[bin]! - edges[bin - 1]!) * random.next();
  };
}
