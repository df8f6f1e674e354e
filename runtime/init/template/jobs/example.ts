/**
 * An example job: payments in, each user's running total in keyed state, a line out for every
 * payment that takes a user past the limit.
 *
 *   npx sluice run jobs/example.ts                          # generated payments, out/big-spenders.jsonl
 *   npx sluice run jobs/example.ts --set limit=5000 --output alerts=-
 *   npx sluice run jobs/example.ts --brokers localhost:9092 # Kafka topics payments → big-spenders
 */
import { z } from 'zod';
import { defineJob, input, output, setting, valueState } from 'sluice';
import { filter, keyBy, map, withState } from 'sluice/operators';

/** A payment as it arrives; the bounds turn absurd values into dead letters. */
const Payment = z.object({
  user: z.string().min(1),
  amount: z.number().positive().max(1_000_000),
  at: z.number().int().min(Date.UTC(2000, 0, 1)).max(Date.UTC(2100, 0, 1)),
});
type Payment = z.infer<typeof Payment>;

/** What the job writes. */
export interface Alert {
  user: string;
  total: number;
  payments: number;
}

/** A user's spending so far; kept in keyed state, checkpointed with the input's offsets. */
export const spent = valueState<{ total: number; payments: number }>('spent');

export default defineJob({
  name: 'big-spenders',
  settings: {
    limit: setting.number(10_000, 'total above which a user is reported', { min: 0 }),
    count: setting.integer(100_000, 'payments the generator makes', { min: 0 }),
  },
  inputs: { payments: input('payments', Payment, { key: (p) => p.user, time: (p) => p.at }) },
  outputs: { alerts: output<Alert>('big-spenders') },
  generate: (settings) => ({
    payments: { count: settings.count, make: (i): Payment => ({ user: `u${i % 100}`, amount: 1 + ((i * 7919) % 500), at: Date.UTC(2026, 0, 1) + i * 1000 }) },
  }),
  pipeline: ({ payments }, { settings }) =>
    payments.pipe(
      keyBy((p) => p.user),
      withState(spent, (p: Payment, state) => {
        const before = state.get() ?? { total: 0, payments: 0 };
        const after = { total: before.total + p.amount, payments: before.payments + 1 };
        state.update(after);
        return { user: p.user, before: before.total, ...after };
      }),
      filter((s) => s.before <= settings.limit && s.total > settings.limit),
      map((s): Alert => ({ user: s.user, total: s.total, payments: s.payments })),
    ),
});
