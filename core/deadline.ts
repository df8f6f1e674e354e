/**
 * `promise`, or a rejection with `timedOut()` after `ms`. The operation itself may still finish
 * later; nobody waits for it. For clients whose own timeouts do not bound every call (a request
 * retried behind a frozen broker, a lock held by another request).
 *
 * @example
 * await withDeadline(transaction.commit(), 60_000, () => new ConnectorError('the commit got no answer within 60 s'));
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * True once `promise` is fulfilled, false if `ms` pass first; rejects as `promise` does. For
 * waits that go on differently after a timeout (a stop that gives up, a checkpoint that fails
 * the job) rather than failing with an error of their own.
 *
 * @example
 * if (!(await finishedWithin(tail, 10_000))) log('the last send did not finish; disconnecting under it');
 */
export function finishedWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return withDeadline(promise, ms, () => OUT_OF_TIME).then(
    () => true,
    (error: unknown) => (error === OUT_OF_TIME ? false : Promise.reject(error)),
  );
}

/** What finishedWithin's deadline rejects with; never seen outside it. */
const OUT_OF_TIME = new Error('out of time');
