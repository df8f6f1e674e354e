import type { SchedulerLike } from 'rxjs';
import type { CheckpointPart } from '../checkpoint/coordinator.ts';
import type { Clock } from '../clock.ts';
import { SluiceError } from '../errors.ts';
import type { InferenceService } from '../inference.ts';
import type { Instrumentation } from '../instrumentation.ts';
import type { Envelope } from '../record.ts';
import type { KeyedStateStore } from '../state/keyedState.ts';

/** How a record goes to the dead-letter sink. */
export interface DeadLetterOptions {
  /**
   * The record also goes on to the sink (with a safe default, say): the caller has retained its
   * ticket, and the summary does not count it as dropped.
   */
  readonly alsoOutput?: boolean;
}

/**
 * What the engine lends an operator when the pipeline is subscribed: keyed state, the
 * dead-letter route, the scheduler every timer runs on, inference and checkpoint registration.
 * Operators take it from {@link operatorContext}; job authors never see it.
 */
export interface OperatorContext {
  readonly jobName: string;
  readonly state: KeyedStateStore;
  /** Runs every timer of the job (batch waits, idle watermarks): virtual in the test driver. */
  readonly scheduler: SchedulerLike;
  readonly clock: Clock;
  readonly instrumentation: Instrumentation;
  /** The model pool; started on first use, so jobs without a model start none. */
  readonly inference: InferenceService;
  /** Sends a record to the dead-letter sink with a reason instead of passing it on. */
  deadLetter(record: Envelope<unknown>, reason: string, stage: string, options?: DeadLetterOptions): void;
  /** Puts a stateful operator into the job's checkpoints under a name that stays the same across restarts. */
  checkpointed(name: string, part: CheckpointPart): void;
  /**
   * What an operator holding records (windows) does when its input completes: `fire` at the
   * real end of a bounded input or a `--drain` stop, `keep` when the stop will be resumed from
   * a checkpoint.
   */
  atEnd(): 'fire' | 'keep';
  /** A stage name unique in this job: `base`, then `base-2`, ... (stable for the same job file). */
  uniqueStage(base: string): string;
}

const bound: OperatorContext[] = [];

/**
 * Runs `subscribe` with `context` lent to every operator that subscribes meanwhile. RxJS
 * subscribes a pipe synchronously from the sink back to the source, so each operator of the
 * graph sees the context of the job it belongs to.
 */
export function withOperatorContext<T>(context: OperatorContext, subscribe: () => T): T {
  bound.push(context);
  try {
    return subscribe();
  } finally {
    bound.pop();
  }
}

/** The context of the job being subscribed, or undefined outside one (a plain RxJS test). */
export function operatorContext(): OperatorContext | undefined {
  return bound[bound.length - 1];
}

/** Like {@link operatorContext}, for operators that cannot work without a job (keyed state, inference). */
export function requireOperatorContext(operator: string): OperatorContext {
  const context = operatorContext();
  if (context === undefined) {
    throw new SluiceError(`${operator}() runs only inside a Sluice job: use it in a job's pipeline, and run it with \`sluice run\` or testDriver() from sluice/testing`);
  }
  return context;
}
