import type { LateRecord, WindowResult } from '../../operators/windows/windowOutput.ts';
import type { Transaction } from '../fraud/transactions.ts';
import type { MerchantStats } from './merchantStats.ts';

/** One line of the `windows` output. */
export type WindowLine = { merchantId: string; windowStart: string; windowEnd: string; firing: number } & MerchantStats;

/** One line of the `late` output. */
export interface LateLine {
  reason: string;
  message: string;
  merchantId: string | null;
  eventTime: number | null;
  watermark: number | null;
  transaction: Transaction;
}

/**
 * A window result as an output line.
 *
 * @example
 * describeWindow(result).windowStart // '2023-11-14T22:13:00.000Z'
 */
export function describeWindow(result: WindowResult<MerchantStats>): WindowLine {
  return { merchantId: result.key, windowStart: new Date(result.start).toISOString(), windowEnd: new Date(result.end).toISOString(), firing: result.firing, ...result.result };
}

/**
 * A late transaction as an output line.
 *
 * @example
 * describeLate(late).reason // 'late'
 */
export function describeLate(late: LateRecord<Transaction>): LateLine {
  return { reason: late.reason, message: late.message, merchantId: late.key ?? null, eventTime: late.timestamp, watermark: late.watermark, transaction: late.value };
}
