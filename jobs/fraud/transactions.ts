import { z } from 'zod';
import { SluiceError } from '../../core/errors.ts';
import { Random } from './random.ts';

/** One card transaction, the record the fraud job scores. */
export interface Transaction {
  id: string;
  userId: string;
  amount: number;
  merchantId: string;
  merchantCategory: string;
  country: string;
  cardPresent: boolean;
  /** Event time, ms since epoch. */
  timestamp: number;
  /** Ground truth, synthetic data only; features must never read it. */
  isFraud?: boolean;
}

/** Above any card's limit: a larger amount is a broken record, not a purchase. */
export const MAX_TRANSACTION_AMOUNT = 1_000_000;
/** Event times a transaction may carry: 2000-01-01 up to 2100-01-01 (UTC), in ms. */
export const EARLIEST_TIMESTAMP = Date.UTC(2000, 0, 1);
export const LATEST_TIMESTAMP = Date.UTC(2100, 0, 1);

/**
 * The wire schema of a transaction, with sane bounds: a schema-valid but absurd value (an amount
 * of 1e308, a timestamp in the year 33,000) would poison the user's keyed state, so it is a dead
 * letter instead. Unknown keys are dropped; numbers must be finite (zod 4 rejects NaN and
 * ±Infinity for `z.number()`).
 */
export const transactionSchema = z.object({
  id: z.string().min(1).max(128),
  userId: z.string().min(1).max(128),
  amount: z.number().nonnegative().max(MAX_TRANSACTION_AMOUNT),
  merchantId: z.string().min(1).max(128),
  merchantCategory: z.string().min(1).max(64),
  country: z.string().min(2).max(3),
  cardPresent: z.boolean(),
  timestamp: z.number().int().min(EARLIEST_TIMESTAMP).max(LATEST_TIMESTAMP),
  isFraud: z.boolean().optional(),
});

/** A record that is not a valid {@link Transaction}; `field` names the first bad field. */
export class InvalidTransactionError extends SluiceError {
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/**
 * Validates an already JSON-decoded value as a {@link Transaction}. Throws
 * {@link InvalidTransactionError} whose message names every bad field, e.g.
 * `invalid transaction: amount: expected number, received NaN` — the decoder uses the message as
 * the dead-letter reason.
 *
 * @example
 * const tx = parseTransaction(JSON.parse(bytes.toString('utf8')));
 * parseTransaction({ ...tx, amount: 'ten' }); // throws "invalid transaction: amount: expected number, received string"
 */
export function parseTransaction(value: unknown): Transaction {
  const result = transactionSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const describe = (issue: (typeof issues)[number]): string => {
    const field = issue.path.length === 0 ? '(record)' : issue.path.join('.');
    return `${field}: ${issue.message.replace(/^Invalid input: /, '')}`;
  };
  const first = issues[0];
  const field = first === undefined || first.path.length === 0 ? '(record)' : first.path.join('.');
  throw new InvalidTransactionError(field, `invalid transaction: ${issues.map(describe).join('; ')}`);
}

/** Options of {@link TransactionGenerator}. */
export interface TransactionGeneratorOptions {
  /** PRNG seed; the same seed gives the same stream. Default 42. */
  seed?: number;
  /** Number of card holders. Default 5000. */
  users?: number;
  /** Expected share of fraudulent transactions, in [0, 0.5]. Default 0.015. */
  fraudRatio?: number;
  /** Event time of the first transaction, ms since epoch. Default 2023-11-14T22:13:20Z. */
  startTime?: number;
  /** Simulated event-time gap between consecutive transactions of the whole stream. Default 2000 ms. */
  meanGapMs?: number;
}

/** Merchant categories the generator uses, low risk first. */
export const MERCHANT_CATEGORIES: readonly string[] = [
  'grocery', 'restaurant', 'fuel', 'pharmacy', 'utilities', 'retail', 'travel', 'online_services',
  'electronics', 'jewelry', 'gift_cards', 'crypto', 'gambling', 'money_transfer',
];
/** Relative share of merchants per category (same order as MERCHANT_CATEGORIES). */
const CATEGORY_WEIGHTS = [20, 16, 8, 6, 6, 18, 5, 8, 4, 2, 2, 1, 2, 2];
const RISKY_FROM = 8; // categories at index >= 8 are the ones fraudsters favour

const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'SE', 'PL', 'CA', 'MX', 'BR', 'IN', 'JP', 'AU', 'NG', 'RU', 'CN', 'TR', 'ZA'];
const HOME_COUNTRIES = 10; // users live in one of the first ten

const MERCHANTS = 2000;
const USUAL_MERCHANTS_MAX = 8;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

// Fraud shape. Each signal is noisy; none decides alone.
const BURST_MIN = 1;
const BURST_MAX = 6; // burst size uniform in [BURST_MIN, BURST_MAX]
const BURST_GAP_MS = 3 * MINUTE_MS; // mean gap inside a burst
const FRAUD_FOREIGN = 0.6;
const FRAUD_RISKY_MERCHANT = 0.45;
const FRAUD_CARD_PRESENT = 0.25;
const FRAUD_CARD_TESTING = 0.2; // small "does the card work" amounts
/** Legitimate activity by hour of day (UTC): quiet at night. Scaled so the daily mean is 1. */
const ACTIVITY = normalize(Array.from({ length: 24 }, (_, h) => (h < 6 ? 0.25 : h < 7 || h >= 22 ? 0.8 : 1.3)));
/**
 * Per-step factor on the burst probability so that, per unit of event time, fraud starts 3x more
 * often at night (00–05 UTC) than by day, while the activity-weighted mean stays 1 (keeps the ratio).
 */
const NIGHT_FACTOR = normalizeWeighted(Array.from({ length: 24 }, (_, h) => (h < 6 ? 3 : 1) / ACTIVITY[h]!), ACTIVITY);

// Legitimate noise: short shopping sprees, travel, big purchases, new shops.
const FOLLOWUP_PROB = 0.08;
const FOLLOWUP_MAX = 3; // follow-ups uniform in [1, FOLLOWUP_MAX]
const FOLLOWUP_GAP_MS = 10 * MINUTE_MS;
const LEGIT_FOREIGN = 0.04;
const LEGIT_USUAL_MERCHANT = 0.8;
const LEGIT_BIG_PURCHASE = 0.03;
const OFF_HOURS_ACCEPT = 0.15;
const MAX_AMOUNT = 50_000;

function normalize(values: number[]): number[] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return values.map((v) => v / mean);
}

function normalizeWeighted(values: number[], weights: number[]): number[] {
  const mean = values.reduce((a, v, i) => a + v * weights[i]!, 0) / weights.reduce((a, b) => a + b, 0);
  return values.map((v) => v / mean);
}

interface Pending {
  due: number;
  user: number;
  fraud: boolean;
  country: number;
}

function requireOption(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

/**
 * A deterministic synthetic card-transaction stream with a learnable fraud pattern: fraud comes in
 * bursts for one user (velocity), with larger amounts than the user's usual, often abroad, at
 * risky merchant categories, card-not-present and at night. Event time advances monotonically by
 * exponential gaps of mean `meanGapMs`, independent of the wall clock.
 *
 * @example
 * const gen = new TransactionGenerator({ seed: 7, fraudRatio: 0.02 });
 * const tx = gen.next(); // { id: 'tx-7-0', userId: 'u0421', amount: 42.1, ... }
 */
export class TransactionGenerator {
  readonly #rng: Random;
  readonly #users: number;
  readonly #meanGapMs: number;
  readonly #burstProb: number;
  readonly #idPrefix: string;
  #clock: number;
  #seq = 0;
  #pending: Pending[] = [];

  // Users, struct-of-arrays.
  readonly #userIds: string[];
  readonly #home: Uint8Array;
  readonly #typicalAmount: Float64Array;
  readonly #activeCenter: Uint8Array;
  readonly #activeHalfWidth: Uint8Array;
  readonly #cardPresentRate: Float64Array;
  readonly #usual: Int32Array; // USUAL_MERCHANTS_MAX slots per user
  readonly #usualCount: Uint8Array;

  // Merchants.
  readonly #merchantIds: string[];
  readonly #merchantCategory: Uint8Array;
  readonly #riskyMerchants: Int32Array;

  constructor(options: TransactionGeneratorOptions = {}) {
    const seed = options.seed ?? 42;
    const users = options.users ?? 5000;
    const fraudRatio = options.fraudRatio ?? 0.015;
    const startTime = options.startTime ?? 1_700_000_000_000;
    const meanGapMs = options.meanGapMs ?? 2000;
    requireOption(Number.isInteger(seed), `seed must be an integer (got ${String(seed)})`);
    requireOption(Number.isInteger(users) && users > 0, `users must be a positive integer (got ${String(users)})`);
    requireOption(fraudRatio >= 0 && fraudRatio <= 0.5, `fraudRatio must be between 0 and 0.5 (got ${String(fraudRatio)})`);
    requireOption(Number.isFinite(startTime) && startTime >= 0, `startTime must be a non-negative number of ms (got ${String(startTime)})`);
    requireOption(Number.isFinite(meanGapMs) && meanGapMs >= 0, `meanGapMs must be a non-negative number (got ${String(meanGapMs)})`);

    this.#rng = new Random(seed);
    this.#users = users;
    this.#meanGapMs = meanGapMs;
    this.#clock = Math.floor(startTime);
    this.#idPrefix = `tx-${seed}-`;
    // Each decision step either starts a burst (1 fraud now, size-1 later) or emits a legit one
    // (which may schedule follow-ups). Solve for the burst probability that gives fraudRatio.
    const burstMean = (BURST_MIN + BURST_MAX) / 2;
    const followups = FOLLOWUP_PROB * (1 + FOLLOWUP_MAX) / 2;
    this.#burstProb = (fraudRatio * (1 + followups)) / (burstMean - fraudRatio * (burstMean - 1 - followups));

    const rng = this.#rng;
    const categoryTotal = CATEGORY_WEIGHTS.reduce((a, b) => a + b, 0);
    this.#merchantIds = [];
    this.#merchantCategory = new Uint8Array(MERCHANTS);
    const risky: number[] = [];
    for (let m = 0; m < MERCHANTS; m++) {
      this.#merchantIds.push(`m${String(m).padStart(4, '0')}`);
      let pick = rng.next() * categoryTotal;
      let category = 0;
      while (pick >= CATEGORY_WEIGHTS[category]!) pick -= CATEGORY_WEIGHTS[category++]!;
      this.#merchantCategory[m] = category;
      if (category >= RISKY_FROM) risky.push(m);
    }
    this.#riskyMerchants = Int32Array.from(risky);

    this.#userIds = [];
    this.#home = new Uint8Array(users);
    this.#typicalAmount = new Float64Array(users);
    this.#activeCenter = new Uint8Array(users);
    this.#activeHalfWidth = new Uint8Array(users);
    this.#cardPresentRate = new Float64Array(users);
    this.#usual = new Int32Array(users * USUAL_MERCHANTS_MAX);
    this.#usualCount = new Uint8Array(users);
    const idWidth = String(users - 1).length;
    for (let u = 0; u < users; u++) {
      this.#userIds.push(`u${String(u).padStart(idWidth, '0')}`);
      this.#home[u] = rng.int(HOME_COUNTRIES);
      this.#typicalAmount[u] = Math.exp(3.3 + 0.7 * rng.normal()); // median ~27
      this.#activeCenter[u] = 8 + rng.int(14); // 08..21 UTC
      this.#activeHalfWidth[u] = 3 + rng.int(5); // ±3..7 h
      this.#cardPresentRate[u] = 0.55 + 0.4 * rng.next();
      const count = 3 + rng.int(USUAL_MERCHANTS_MAX - 2);
      this.#usualCount[u] = count;
      for (let i = 0; i < count; i++) this.#usual[u * USUAL_MERCHANTS_MAX + i] = rng.int(MERCHANTS);
    }
  }

  /**
   * The next transaction of the stream; its timestamp is >= the previous one's.
   *
   * @example
   * const gen = new TransactionGenerator({ seed: 1 });
   * for (let i = 0; i < 3; i++) console.log(gen.next().timestamp);
   */
  next(): Transaction {
    const rng = this.#rng;
    const before = Math.floor(this.#clock / HOUR_MS) % 24;
    this.#clock += Math.round(rng.exponential(this.#meanGapMs / ACTIVITY[before]!));
    const clock = this.#clock;
    const head = this.#pending[0];
    if (head !== undefined && head.due <= clock) {
      this.#pending.shift();
      return head.fraud ? this.#fraud(head.user, head.country) : this.#legit(head.user);
    }
    const hour = Math.floor(clock / HOUR_MS) % 24;
    if (rng.next() < this.#burstProb * NIGHT_FACTOR[hour]!) {
      const user = rng.int(this.#users);
      const country = rng.chance(FRAUD_FOREIGN) ? this.#foreignCountry(user) : this.#home[user]!;
      const size = BURST_MIN + rng.int(BURST_MAX - BURST_MIN + 1);
      let due = clock;
      for (let i = 1; i < size; i++) {
        due += Math.round(rng.exponential(BURST_GAP_MS));
        this.#schedule({ due, user, fraud: true, country });
      }
      return this.#fraud(user, country);
    }
    const user = this.#activeUser(hour);
    if (rng.chance(FOLLOWUP_PROB)) {
      const count = 1 + rng.int(FOLLOWUP_MAX);
      let due = clock;
      for (let i = 0; i < count; i++) {
        due += Math.round(rng.exponential(FOLLOWUP_GAP_MS));
        this.#schedule({ due, user, fraud: false, country: 0 });
      }
    }
    return this.#legit(user);
  }

  #schedule(entry: Pending): void {
    const pending = this.#pending;
    let i = pending.length;
    while (i > 0 && pending[i - 1]!.due > entry.due) i--;
    pending.splice(i, 0, entry);
  }

  /** A user whose active hours include `hour`, most of the time. */
  #activeUser(hour: number): number {
    const rng = this.#rng;
    let user = 0;
    for (let attempt = 0; attempt < 6; attempt++) {
      user = rng.int(this.#users);
      const d = Math.abs(hour - this.#activeCenter[user]!);
      if (Math.min(d, 24 - d) <= this.#activeHalfWidth[user]! || rng.chance(OFF_HOURS_ACCEPT)) break;
    }
    return user;
  }

  #foreignCountry(user: number): number {
    const c = this.#rng.int(COUNTRIES.length - 1);
    return c >= this.#home[user]! ? c + 1 : c;
  }

  #legit(user: number): Transaction {
    const rng = this.#rng;
    let amount = this.#typicalAmount[user]! * Math.exp(0.6 * rng.normal());
    if (rng.chance(LEGIT_BIG_PURCHASE)) amount *= Math.exp(1.2 + 0.5 * rng.normal());
    const merchant = rng.chance(LEGIT_USUAL_MERCHANT)
      ? this.#usual[user * USUAL_MERCHANTS_MAX + rng.int(this.#usualCount[user]!)]!
      : rng.int(MERCHANTS);
    const country = rng.chance(LEGIT_FOREIGN) ? this.#foreignCountry(user) : this.#home[user]!;
    return this.#make(user, amount, merchant, country, rng.chance(this.#cardPresentRate[user]!), false);
  }

  #fraud(user: number, country: number): Transaction {
    const rng = this.#rng;
    const amount = rng.chance(FRAUD_CARD_TESTING)
      ? Math.exp(0.5 + rng.normal())
      : this.#typicalAmount[user]! * Math.exp(1.1 + 0.9 * rng.normal());
    const merchant = rng.chance(FRAUD_RISKY_MERCHANT)
      ? this.#riskyMerchants[rng.int(this.#riskyMerchants.length)]!
      : rng.int(MERCHANTS);
    return this.#make(user, amount, merchant, country, rng.chance(FRAUD_CARD_PRESENT), true);
  }

  #make(user: number, amount: number, merchant: number, country: number, cardPresent: boolean, isFraud: boolean): Transaction {
    return {
      id: this.#idPrefix + this.#seq++,
      userId: this.#userIds[user]!,
      amount: Math.round(Math.min(amount, MAX_AMOUNT) * 100) / 100,
      merchantId: this.#merchantIds[merchant]!,
      merchantCategory: MERCHANT_CATEGORIES[this.#merchantCategory[merchant]!]!,
      country: COUNTRIES[country]!,
      cardPresent,
      timestamp: this.#clock,
      isFraud,
    };
  }
}
