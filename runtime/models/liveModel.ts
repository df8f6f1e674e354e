import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describeError, ModelError } from '../../core/errors.ts';
import type { InferenceRequest, InferenceResult, ModelHandle, ModelLifecycleEvent, ModelOptions } from '../../core/inference.ts';
import type { WarmUpResult } from '../inferenceWorker.ts';
import { loadFixtures, loadHeldOut } from './datasets.ts';
import { modelFitProblems } from './fit.ts';
import type { Signature } from './signature.ts';
import { readPin } from './pin.ts';
import { resolveModel, watchRegistry, type RegistryWatcher, type ResolvedModel } from './registry.ts';
import { validateCandidate } from './validate.ts';

/** What a live model needs from the worker pool. */
export interface PoolAccess {
  /** Loads a model file on every worker thread; resolves with what the model takes and gives. */
  warmUp(modelPath: string, version: string | undefined): Promise<WarmUpResult>;
  /** Scores a batch with one model file, named `version` in the result. */
  score(modelPath: string, version: string | undefined, request: InferenceRequest, options: ModelOptions): Promise<InferenceResult>;
  /** This handle serves `modelPath` from now on. */
  hold(modelPath: string): void;
  /**
   * This handle no longer needs `modelPath` (it swapped away from it, or refused it after loading
   * it): the pool unloads it once no handle holds it and no batch of it is running.
   */
  release(modelPath: string): void;
}

/** How registry models notice new versions and pins. */
export interface LiveModelSettings {
  /** How often the pin file is read (default 1000 ms; SIGHUP reads it at once). */
  readonly pinPollMs?: number;
  /** watchRegistry's quiet time after file events (default 200 ms) and its poll (default 5000 ms). */
  readonly debounceMs?: number;
  readonly pollMs?: number;
  /** Where swap and refusal lines go (default stderr). */
  readonly log?: (line: string) => void;
}

interface Serving {
  readonly model: ResolvedModel;
}

/** The worker reports dtypes as onnxruntime names them: the manifest's dtype names. */
const signatureOf = (warm: WarmUpResult): Signature => ({ inputs: warm.inputs, outputs: warm.outputs }) as Signature;
const PIN = /^(.*)@([^@/]*)$/;

/**
 * A registry model that changes while the job runs. `models/fraud` serves the pinned version
 * (`PINNED` in the registry) or else the newest valid one, and follows both: a new version or
 * a new pin is loaded beside the serving one, validated before any record sees it, then made
 * current by one pointer write, so every batch is scored whole by one version. A refused
 * version is logged and reported; the serving one stays. `models/fraud@3` is loaded once and
 * never changes; `models/fraud@next` (a shadow) follows the newest version, pin or not.
 *
 * @example
 * const live = new LiveModel('models/fraud', { columns: 10 }, poolAccess);
 * await live.start();
 * const { modelVersion } = await live.run(request); // 'fraud@1'
 */
export class LiveModel implements ModelHandle {
  readonly path: string;
  readonly #registry: string;
  readonly #mode: 'fixed' | 'follow' | 'next';
  readonly #options: ModelOptions;
  readonly #pool: PoolAccess;
  readonly #settings: LiveModelSettings;
  readonly #log: (line: string) => void;
  readonly #listeners = new Set<(event: ModelLifecycleEvent) => void>();
  #serving: Serving | undefined;
  /** The pin acted on last: a pin that stays the same is not tried again until SIGHUP. */
  #pin: number | undefined;
  #watcher: RegistryWatcher | undefined;
  #pinTimer: NodeJS.Timeout | undefined;
  /** Swaps happen one after another, never interleaved. */
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(spec: string, options: ModelOptions, pool: PoolAccess, settings: LiveModelSettings = {}) {
    this.path = spec;
    const pinned = PIN.exec(spec);
    this.#registry = pinned?.[1] ?? spec;
    this.#mode = pinned === null ? 'follow' : pinned[2] === 'next' ? 'next' : 'fixed';
    this.#options = options;
    this.#pool = pool;
    this.#settings = settings;
    this.#log = settings.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  get version(): string | undefined {
    return this.#serving?.model.id;
  }

  get threshold(): number | undefined {
    return this.#serving?.model.manifest?.threshold;
  }

  /** Resolves, loads and checks the first version; rejects with one ModelError line. Then starts following. */
  async start(): Promise<void> {
    let model: ResolvedModel;
    if (this.#mode === 'follow') {
      this.#pin = await readPin(this.#registry);
      model = await resolveModel(this.#pin === undefined ? this.#registry : `${this.#registry}@${this.#pin}`);
    } else {
      model = await resolveModel(this.#mode === 'next' ? this.#registry : this.path);
    }
    const problems = await this.#load(model);
    if (problems.length > 0) throw new ModelError(`model ${model.id} (${this.path}) does not fit: ${problems.join('; ')}`);
    this.#switch(model);
    if (this.#mode !== 'fixed' && !this.#closed) await this.#follow(model);
  }

  run(request: InferenceRequest): Promise<InferenceResult> {
    // The version is read once, here: the whole batch goes to it, whatever swaps meanwhile.
    const serving = this.#serving;
    if (serving === undefined) return Promise.reject(new ModelError(`model ${this.path} is not loaded yet: await the pool's ready() before scoring`));
    return this.#pool.score(serving.model.modelPath, serving.model.id, request, this.#options);
  }

  onLifecycle(listener: (event: ModelLifecycleEvent) => void): () => void {
    this.#listeners.add(listener);
    const serving = this.#serving;
    if (serving !== undefined) listener({ kind: 'swapped', model: serving.model.name, version: serving.model.id, from: undefined });
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reads the pin file and scans the registry now (what SIGHUP and the pin poll call).
   * `force` tries an unchanged pin again, e.g. after a refused one was fixed.
   */
  async reload(force = false): Promise<void> {
    if (this.#mode === 'fixed' || this.#closed) return;
    await this.#enqueue(async () => {
      if (this.#mode === 'next') {
        await this.#watcher?.scan();
        return;
      }
      let pin: number | undefined;
      try {
        pin = await readPin(this.#registry);
      } catch (error) {
        if (force || this.#pin !== -1) this.#log(`sluice: ${describeError(error)}; ${this.version} keeps serving`);
        this.#pin = -1; // log a bad pin file once, not every poll
        return;
      }
      const changed = pin !== this.#pin;
      this.#pin = pin;
      if (pin !== undefined) {
        if (changed || force) await this.#considerSpec(`${this.#registry}@${pin}`, 'pinned');
      } else if (changed) {
        await this.#considerSpec(this.#registry, 'unpinned');
      } else {
        await this.#watcher?.scan();
      }
    });
    // A version the scan found was queued behind this work: resolve once it is judged too.
    await this.#queue;
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    clearInterval(this.#pinTimer);
  }

  async #follow(current: ResolvedModel): Promise<void> {
    this.#watcher = await watchRegistry(
      this.#registry,
      (model) => {
        // A pin holds the version still; new versions wait until it is removed.
        if (this.#mode === 'follow' && this.#pin !== undefined) return;
        void this.#enqueue(() => this.#consider(model, 'new version'));
      },
      {
        after: current.version ?? 0,
        ...(this.#settings.debounceMs === undefined ? {} : { debounceMs: this.#settings.debounceMs }),
        ...(this.#settings.pollMs === undefined ? {} : { pollMs: this.#settings.pollMs }),
        onSkipped: (skipped) => this.#log(`sluice: model ${this.#registry} version ${skipped.version} skipped: ${skipped.reason}`),
      },
    );
    if (this.#closed) this.#watcher.close();
    if (this.#mode === 'follow' && !this.#closed) {
      this.#pinTimer = setInterval(() => void this.reload(), this.#settings.pinPollMs ?? 1000);
      this.#pinTimer.unref();
    }
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(work).catch((error: unknown) => this.#log(`sluice: model ${this.path}: ${describeError(error)}`));
    this.#queue = next;
    return next;
  }

  async #considerSpec(spec: string, why: 'pinned' | 'unpinned'): Promise<void> {
    let model: ResolvedModel;
    try {
      model = await resolveModel(spec);
    } catch (error) {
      this.#refuse(spec.slice(spec.lastIndexOf('/') + 1), [describeError(error)]);
      return;
    }
    await this.#consider(model, why);
  }

  /**
   * Validates a candidate and swaps it in. A version someone pinned is checked for its
   * signature and fixtures but not held to the serving version's AUC: a rollback goes to an
   * older model on purpose.
   */
  async #consider(candidate: ResolvedModel, why: 'new version' | 'pinned' | 'unpinned'): Promise<void> {
    const serving = this.#serving;
    if (this.#closed || serving === undefined || serving.model.modelPath === candidate.modelPath) return;
    const reasons: string[] = [];
    if (this.#options.role !== 'shadow') {
      try {
        const fixtures = await loadFixtures(this.#datasetPath(candidate, serving.model, 'fixtures.json'));
        const heldOutPath = this.#datasetPath(candidate, serving.model, 'holdout.csv');
        const verdict = await validateCandidate(candidate, {
          ...(why === 'pinned' ? {} : { current: serving.model }),
          fixtures,
          ...(existsSync(heldOutPath) ? { heldOut: await loadHeldOut(heldOutPath) } : {}),
          maxAucDrop: this.#options.maxAucDrop ?? 0.01,
        });
        reasons.push(...verdict.reasons);
      } catch (error) {
        reasons.push(describeError(error));
      }
    }
    const loaded = reasons.length === 0;
    if (loaded) reasons.push(...(await this.#load(candidate)));
    if (this.#closed) return;
    if (reasons.length > 0) {
      // Loaded on every worker to be checked: a refused version must not stay there.
      if (loaded) this.#pool.release(candidate.modelPath);
      this.#refuse(candidate.id, reasons, candidate.name);
      return;
    }
    this.#switch(candidate);
    this.#log(`sluice: model ${candidate.id} now serving (was ${serving.model.id}; ${why})`);
  }

  /** Loads a version on every worker; returns why it does not fit the caller (empty when it does). */
  async #load(model: ResolvedModel): Promise<string[]> {
    let warm: WarmUpResult;
    try {
      warm = await this.#pool.warmUp(model.modelPath, model.id);
    } catch (error) {
      return [`it cannot be loaded: ${describeError(error).split('\n')[0]}`];
    }
    return modelFitProblems(signatureOf(warm), this.#options, model.manifest);
  }

  /** The candidate's own fixtures or held-out file, else the serving version's. */
  #datasetPath(candidate: ResolvedModel, serving: ResolvedModel, file: string): string {
    const own = join(dirname(candidate.modelPath), file);
    return existsSync(own) ? own : join(dirname(serving.modelPath), file);
  }

  #switch(model: ResolvedModel): void {
    const before = this.#serving?.model;
    const from = before?.id;
    this.#serving = { model };
    if (before?.modelPath !== model.modelPath) {
      this.#pool.hold(model.modelPath);
      // Batches already sent to the old version finish with it; the pool waits for them.
      if (before !== undefined) this.#pool.release(before.modelPath);
    }
    this.#emit({ kind: 'swapped', model: model.name, version: model.id, from });
  }

  #refuse(version: string, reasons: readonly string[], name = this.#registry.slice(this.#registry.lastIndexOf('/') + 1)): void {
    this.#log(`sluice: model ${version} refused, ${this.version} keeps serving: ${reasons.join('; ')}`);
    this.#emit({ kind: 'refused', model: name, version, reasons });
  }

  #emit(event: ModelLifecycleEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A metrics listener must not stop a swap.
      }
    }
  }
}
