/** The events of the side-by-side bench and their scores, shared by every implementation. */

export interface ScoringEvent {
  readonly id: number;
  /** When the producer made it, epoch ms: latency is (score arrival − createdAt). */
  readonly createdAt: number;
  readonly userId: string;
  /** The model's 10 features, already computed (the tutorial's scoring step, not its feature step). */
  readonly features: readonly number[];
  /** With SBS_STAGES=1: when the job decoded it (epoch ms). */
  readonly decodedAt?: number;
  /** With SBS_STAGES=1: when its features went into a model call (epoch ms), set then. */
  batchedAt?: number;
}

export interface Score {
  readonly id: number;
  readonly createdAt: number;
  readonly userId: string;
  readonly score: number;
  /** With SBS_STAGES=1: when the job decoded the event and when its score was back on the job's thread (epoch ms). */
  readonly decodedAt?: number;
  readonly batchedAt?: number;
  readonly scoredAt?: number;
}

/**
 * Checks one decoded event (a wrong shape is a dead letter in Sluice, skipped by the others).
 *
 * @example
 * parseScoringEvent(JSON.parse('{"id":1,"createdAt":1,"userId":"u1","features":[0,0,0,0,0,0,0,0,0,0]}'))
 */
export function parseScoringEvent(value: unknown): ScoringEvent {
  const event = value as ScoringEvent;
  if (typeof event?.id !== 'number' || typeof event.createdAt !== 'number' || typeof event.userId !== 'string' || !Array.isArray(event.features) || event.features.length !== 10) {
    throw new Error('not a scoring event: needs id, createdAt, userId and 10 features');
  }
  return event;
}

/**
 * The i-th event's JSON, made now (createdAt is the current time).
 *
 * @example
 * makeEvent(0) // '{"id":0,"createdAt":17...,"userId":"u0","features":[...]}'
 */
export function makeEvent(id: number): { key: string; value: string; timestamp: string } {
  const createdAt = Date.now();
  const userId = `u${id % 5000}`;
  // Deterministic, varied features in the model's usual ranges (log amount, ratios, counts, flags).
  const r = (n: number) => ((Math.sin(id * 12.9898 + n * 78.233) * 43758.5453) % 1 + 1) % 1;
  const features = [2 + r(1) * 5, r(2) * 3, Math.floor(r(3) * 6), Math.floor(r(4) * 30), r(5) * 600, r(6) * 4, r(7) < 0.05 ? 1 : 0, r(8), r(9) < 0.3 ? 1 : 0, r(10) < 0.2 ? 1 : 0].map((x) => Math.round(x * 1000) / 1000);
  return { key: userId, value: JSON.stringify({ id, createdAt, userId, features }), timestamp: String(createdAt) };
}
