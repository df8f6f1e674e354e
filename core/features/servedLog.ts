/**
 * The served-rows log of the skew check: a sample of the feature rows a job actually used, one
 * JSON row per line under `.sluice/<job>/served-features.jsonl`, which `featuresCheck` replays
 * against the offline recomputation. The sample is chosen by a hash of (view, entity, event time),
 * so a rerun logs the same rows and the log never depends on timing.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { FeatureStoreError } from './errors.ts';
import type { FeatureRow } from './featureView.ts';

/**
 * Where a job's served rows go, relative to the working directory.
 *
 * @example
 * servedLogPath('fraud-detection'); // '.sluice/fraud-detection/served-features.jsonl'
 */
export function servedLogPath(jobName: string, root = '.sluice'): string {
  return join(root, jobName, 'served-features.jsonl');
}

/** FNV-1a of a row's identity, as a number in [0, 1). */
function unitHash(row: FeatureRow): number {
  const text = `${row.view}\u0000${row.entity}\u0000${row.eventTime}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000;
}

/**
 * Appends a sample of rows to a JSONL file (truncated when opened: one run, one log).
 *
 * @example
 * const log = new ServedLog(servedLogPath('fraud-detection'), 0.05);
 * log.log(rows);
 * await log.close();
 */
export class ServedLog {
  readonly path: string;
  readonly #sample: number;
  readonly #out: WriteStream;
  #logged = 0;

  constructor(path: string, sample: number) {
    if (!(sample > 0 && sample <= 1)) throw new FeatureStoreError(`served-rows sample must be a share in (0, 1] (got ${sample})`);
    this.path = path;
    this.#sample = sample;
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw new FeatureStoreError(`cannot create ${dirname(path)} for the served-rows log: check the working directory is writable`, { cause: error });
    }
    this.#out = createWriteStream(path, { flags: 'w' });
    // A full disk must not take the job down: the check then reports too few rows.
    this.#out.on('error', () => undefined);
  }

  /** Rows logged so far. */
  get logged(): number {
    return this.#logged;
  }

  log(rows: readonly FeatureRow[]): void {
    let text = '';
    for (const row of rows) {
      if (this.#sample < 1 && unitHash(row) >= this.#sample) continue;
      text += `${JSON.stringify(row)}\n`;
      this.#logged++;
    }
    if (text !== '') this.#out.write(text);
  }

  async close(): Promise<void> {
    if (this.#out.closed || this.#out.writableFinished) return;
    this.#out.end();
    await once(this.#out, 'close').catch(() => undefined);
  }
}
