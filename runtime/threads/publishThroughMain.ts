import type { Publisher, PublishRequest } from '../../connectors/filePublisher.ts';
import { describeError, SluiceError } from '../../core/errors.ts';
import type { FromThread, ToThread } from './protocol.ts';

/**
 * A stream thread's publisher of exactly-once output files: it asks the main thread, which
 * appends every thread's committed epochs to the shared files one at a time (FilePublisher).
 *
 * @example
 * const publisher = new PublishThroughMain(post);
 * port.on('message', (message) => message.type === 'published' && publisher.answer(message));
 * const files = new CommittedFiles({ publisher, writer: data.index });
 */
export class PublishThroughMain implements Publisher {
  readonly #post: (message: FromThread) => void;
  readonly #waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #lastId = 0;

  constructor(post: (message: FromThread) => void) {
    this.#post = post;
  }

  run(request: PublishRequest): Promise<void> {
    const id = (this.#lastId += 1);
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#post({ type: 'publish', id, request });
    });
  }

  /** The main thread's answer to request `id`. */
  answer(message: Extract<ToThread, { type: 'published' }>): void {
    const waiting = this.#waiting.get(message.id);
    this.#waiting.delete(message.id);
    if (message.error === undefined) waiting?.resolve();
    else waiting?.reject(new SluiceError(message.error));
  }
}

/**
 * The main thread's side: carries out a thread's publish request and answers it. A thread that
 * ended meanwhile gets no answer; its restart asks again, and the publisher finds it done.
 *
 * @example
 * worker.on('message', (message) => message.type === 'publish' && answerPublish(publisher, message, (answer) => worker.postMessage(answer)));
 */
export function answerPublish(publisher: Publisher | undefined, { id, request }: Extract<FromThread, { type: 'publish' }>, reply: (message: ToThread) => void): void {
  const answer = (error?: string) => reply({ type: 'published', id, ...(error === undefined ? {} : { error }) });
  if (publisher === undefined) answer('this run has no exactly-once output files to publish');
  else publisher.run(request).then(() => answer(), (error: unknown) => answer(describeError(error)));
}
