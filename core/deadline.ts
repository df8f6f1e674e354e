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
