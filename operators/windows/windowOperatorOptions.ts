import type { TimestampExtractor } from '../../core/time/timestampExtractor.ts';
import type { WatermarkOptions, WatermarkSnapshot, WatermarkTracker } from '../../core/time/watermarkTracker.ts';
import type { AggregateFunction } from './aggregateFunction.ts';
import type { WindowAssigner } from './windowAssigner.ts';
import type { WindowStateSnapshot } from './windowState.ts';

export interface WindowOperatorOptions<T, Acc, R> {
  /** Which windows a record belongs to: tumbling, sliding or sessions. */
  assigner: WindowAssigner;
  /** Folds records into each window's accumulator; `merge` is needed for sessions. */
  aggregate: AggregateFunction<T, Acc, R>;
  /** The watermark: a tracker of its own, or the options to make one. */
  watermarks: WatermarkTracker | WatermarkOptions;
  /** How long after the watermark passed a window's end late records still update it. Default 0. */
  allowedLatenessMs?: number;
  /** Event time of a record; the envelope's `timestamp` by default. */
  timestamp?: TimestampExtractor<T>;
  /**
   * When the input ends: `fire` every open window (a bounded input is complete — Flink's final
   * watermark), or `keep` them so a checkpoint taken at the stop resumes them. Default `fire`.
   */
  atEnd?: 'fire' | 'keep';
}

/** A window operator's state, JSON-ready: its watermark and its open windows, per scope. */
export interface WindowOperatorSnapshot {
  readonly version: 1;
  readonly watermarks: WatermarkSnapshot;
  readonly windows: WindowStateSnapshot;
}
