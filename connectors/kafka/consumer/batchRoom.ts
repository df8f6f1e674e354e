import { isRebalanceError } from '../errors.ts';
import type { FetchPause } from './fetchPause.ts';
import type { OffsetCommitter } from './offsetCommitter.ts';
import { Wakeup } from './wakeup.ts';

/** A waiting batch re-checks kafkajs' own state (isRunning, which raises no event) this often. */
const CONSUMER_CHECK_MS = 500;

/** The batch being handed out, as kafkajs gives it: its liveness checks and heartbeat. */
export interface BatchLiveness {
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  /** False once the batch's partition is no longer this source's. */
  owned(): boolean;
}

/**
 * Where a fetched batch waits — for room in the job, or for its partition's state — while it
 * keeps heartbeating so the group keeps this member. Every condition it waits for wakes it
 * ({@link wake}: budget half free, an accepted commit, a restore done, stop, revocation); the
 * timeout is only for kafkajs' own state, which raises no event.
 *
 * @example
 * const room = new BatchRoom(fetch, committer, () => stopping);
 * if (room.closed && !(await room.waitForRoom(batch))) return; // leave the batch
 */
export class BatchRoom {
  readonly #wakeup = new Wakeup();
  readonly #fetch: FetchPause;
  readonly #committer: OffsetCommitter;
  readonly #stopping: () => boolean;

  constructor(fetch: FetchPause, committer: OffsetCommitter, stopping: () => boolean) {
    this.#fetch = fetch;
    this.#committer = committer;
    this.#stopping = stopping;
  }

  /** No room now: fetching is paused (the budget filled) or the uncommitted records reached it. */
  get closed(): boolean {
    return this.#fetch.paused || this.#committer.full;
  }

  wake(): void {
    this.#wakeup.wake();
  }

  /**
   * Waits until there is room again. False when the batch should be left: stopping, the consumer
   * stopped, or the partition was revoked. A rebalance noticed by the heartbeat commits what is
   * done (Kafka accepts it while the group prepares the rebalance), then leaves the batch.
   */
  async waitForRoom(batch: BatchLiveness): Promise<boolean> {
    for (;;) {
      if (this.#left(batch)) return false;
      if (!this.closed) return true;
      this.#committer.maybeCommit();
      await this.#wakeup.wait(CONSUMER_CHECK_MS);
      try {
        await batch.heartbeat();
      } catch (error) {
        if (isRebalanceError(error)) await this.#committer.commit().catch(() => {});
        throw error;
      }
    }
  }

  /** Waits for a partition's state to be restored; false when the batch should be left. */
  async waitForRestore(restoring: Promise<void>, batch: BatchLiveness): Promise<boolean> {
    let restored = false;
    void restoring.then(
      () => (restored = true),
      () => {},
    );
    void restoring.finally(() => this.wake()).catch(() => {});
    while (!restored) {
      if (this.#left(batch)) return false;
      await this.#wakeup.wait(CONSUMER_CHECK_MS);
      if (!restored) await batch.heartbeat();
    }
    return !this.#stopping();
  }

  #left(batch: BatchLiveness): boolean {
    return this.#stopping() || !batch.isRunning() || !batch.owned();
  }
}
