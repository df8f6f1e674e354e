import type { Ticket } from '../../core/completion.ts';

/**
 * The ticket of a window result. The result is done when the sink has written it; then `onDone`
 * runs (the operator counts results still on their way) and the ticket of the record whose
 * arrival fired the window, which the result held open, is released — so that record's offset is
 * not committed before the results it caused are written.
 *
 * @example
 * const ticket = resultTicket(record.ticket, () => pending--);
 */
export function resultTicket(cause: Ticket | undefined, onDone: () => void): Ticket {
  cause?.retain();
  let holders = 1;
  return {
    retain: (count = 1) => {
      if (holders <= 0) throw new Error('retain() on a window result that is already done');
      holders += count;
    },
    release: () => {
      if (holders <= 0) throw new Error('window result released twice');
      holders -= 1;
      if (holders > 0) return;
      onDone();
      cause?.release();
    },
    get done() {
      return holders === 0;
    },
  };
}
