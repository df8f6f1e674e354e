/**
 * One accumulator per source partition (scope), so a monitoring window checkpoints and hands
 * over partition by partition like keyed state does: `snapshot([scope])` writes only what that
 * partition's records added, and `dropScope` forgets it when the partition moves away. A window's
 * figures are computed over all scopes together (see `combine` at the call sites).
 *
 * @example
 * const windows = new ScopedWindows(() => new AccuracyWindow({ threshold: 0.5 }), (w) => w.snapshot(), (w, s) => w.restore(s));
 * windows.get('labels/0').add(0.9, 1);
 */
export class ScopedWindows<W, S> {
  readonly #make: () => W;
  readonly #save: (window: W) => S;
  readonly #load: (window: W, saved: S) => void;
  readonly #windows = new Map<string, W>();

  constructor(make: () => W, save: (window: W) => S, load: (window: W, saved: S) => void) {
    this.#make = make;
    this.#save = save;
    this.#load = load;
  }

  /** The accumulator of a scope, made on first use. */
  get(scope: string): W {
    let window = this.#windows.get(scope);
    if (window === undefined) {
      window = this.#make();
      this.#windows.set(scope, window);
    }
    return window;
  }

  values(): IterableIterator<W> {
    return this.#windows.values();
  }

  /** Starts the next window: every scope empty. */
  clear(): void {
    this.#windows.clear();
  }

  snapshot(scopes?: Iterable<string>): Record<string, S> {
    const saved: Record<string, S> = {};
    for (const scope of scopes ?? this.#windows.keys()) {
      const window = this.#windows.get(scope);
      if (window !== undefined) saved[scope] = this.#save(window);
    }
    return saved;
  }

  /** Puts saved scopes back, replacing what those scopes hold. */
  restore(saved: Readonly<Record<string, S>>): void {
    for (const [scope, state] of Object.entries(saved)) {
      const window = this.#make();
      this.#load(window, state);
      this.#windows.set(scope, window);
    }
  }

  dropScope(scope: string): void {
    this.#windows.delete(scope);
  }
}
