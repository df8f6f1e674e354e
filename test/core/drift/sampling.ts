/**
 * Seeded draws for the drift and accuracy tests, so "a stream drawn from the reference" is the
 * same stream on every run (mulberry32 for uniforms, Box–Muller for normals).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededNormal(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** The deciles of the standard normal: 10 bins of 10% each. */
export const NORMAL_DECILES = {
  edges: [-1.2815516, -0.8416212, -0.5244005, -0.2533471, 0, 0.2533471, 0.5244005, 0.8416212, 1.2815516],
  proportions: new Array<number>(10).fill(0.1),
};
