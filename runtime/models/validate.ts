import '../onnxTelemetry.ts';
import * as ort from 'onnxruntime-node';
import { rocAuc } from '../../core/accuracy/auc.ts';
import { describeError, InvalidOptionError } from '../../core/errors.ts';
import type { FixtureSet, HeldOutSet } from './datasets.ts';
import type { ResolvedModel } from './registry.ts';
import { compareSignatures, sessionSignature } from './signature.ts';

/** What a candidate is checked against. */
export interface ValidateOptions {
  /** The model serving now: the candidate's signature and features must match it, its AUC is the bar. */
  readonly current?: ResolvedModel;
  /** Pinned inputs (e.g. models/fixtures/fraud-v1.json): every score must be finite and in [0, 1]. */
  readonly fixtures: FixtureSet;
  /** Labelled rows; with `current`, the candidate's AUC on them may be at most `maxAucDrop` below the current's. */
  readonly heldOut?: HeldOutSet;
  /** Allowed AUC drop, in [0, 1] (e.g. 0.01). */
  readonly maxAucDrop: number;
}

/** The verdict: `ok` with no reasons, or every reason the candidate is refused. */
export interface ValidationResult {
  readonly ok: boolean;
  readonly reasons: readonly string[];
  /** Held-out AUC of the candidate and of the current model, when measured. */
  readonly candidateAuc?: number;
  readonly currentAuc?: number;
}

type Session = ort.InferenceSession;

async function open(model: ResolvedModel): Promise<Session> {
  // One thread: validation runs beside a serving pool and must not take its cores.
  return ort.InferenceSession.create(model.modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/** Scores row-major features through the model's only input; returns its first output's values. */
async function score(session: Session, features: Float32Array, width: number): Promise<ArrayLike<number>> {
  const input = new ort.Tensor('float32', features, [features.length / width, width]);
  const outputs = await session.run({ [session.inputNames[0]!]: input });
  const output = outputs[session.outputNames[0]!]!;
  return output.data as ArrayLike<number>;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

/**
 * Checks a candidate version before any record sees it: it loads; its ONNX signature (input and
 * output names, dtypes, shapes, read from onnxruntime's session metadata) matches its manifest
 * and the current model's; its features are the current's, in the same order; the pinned
 * fixture inputs give finite scores in [0, 1]; and on the held-out rows its AUC is not below the
 * current model's by more than `maxAucDrop`. Resolves with every reason found (never rejects
 * for a bad model: refusing it is the expected outcome).
 *
 * @example
 * const verdict = await validateCandidate(await resolveModel('models/fraud@2'), {
 *   current: await resolveModel('models/fraud@1'),
 *   fixtures: await loadFixtures('models/fixtures/fraud-v1.json'),
 *   heldOut: await loadHeldOut('models/fraud/2/holdout.csv'),
 *   maxAucDrop: 0.01,
 * });
 * if (!verdict.ok) log(`fraud@2 refused: ${verdict.reasons.join('; ')}`);
 */
export async function validateCandidate(candidate: ResolvedModel, options: ValidateOptions): Promise<ValidationResult> {
  if (!(options.maxAucDrop >= 0 && options.maxAucDrop <= 1)) {
    throw new InvalidOptionError(`maxAucDrop must be a number in [0, 1] (got ${String(options.maxAucDrop)})`);
  }
  const { current, fixtures, heldOut } = options;
  const sessions: Session[] = [];
  try {
    let session: Session;
    try {
      session = await open(candidate);
      sessions.push(session);
    } catch (error) {
      return { ok: false, reasons: [`${candidate.id} cannot be loaded by onnxruntime: ${describeError(error).split('\n')[0]}`] };
    }
    const reasons: string[] = [];
    const signature = sessionSignature(session);
    if (candidate.manifest !== undefined) {
      reasons.push(...compareSignatures(signature, candidate.manifest, 'its manifest'));
    }
    let currentSession: Session | undefined;
    if (current !== undefined) {
      try {
        currentSession = await open(current);
        sessions.push(currentSession);
        reasons.push(...compareSignatures(signature, sessionSignature(currentSession), `the current model ${current.id}`));
      } catch (error) {
        reasons.push(`the current model ${current.id} cannot be loaded to compare with: ${describeError(error).split('\n')[0]}`);
      }
      if (candidate.manifest !== undefined && current.manifest !== undefined && !sameNames(candidate.manifest.features, current.manifest.features)) {
        reasons.push(`its features [${candidate.manifest.features.join(', ')}] are not those of ${current.id} [${current.manifest.features.join(', ')}] in the same order`);
      }
    }
    if (signature.inputs.length !== 1) {
      reasons.push(`it has ${signature.inputs.length} inputs; fixtures and held-out rows feed one [batch, features] tensor`);
      return { ok: false, reasons };
    }
    if (candidate.manifest !== undefined && !sameNames(fixtures.featureNames, candidate.manifest.features)) {
      reasons.push(`the fixtures' features [${fixtures.featureNames.join(', ')}] are not the manifest's in the same order`);
    }
    const width = fixtures.featureNames.length;
    try {
      const scores = await score(session, fixtures.features, width);
      const bad = Array.from(scores).findIndex((s) => !(s >= 0 && s <= 1));
      if (bad >= 0) {
        const count = Array.from(scores).filter((s) => !(s >= 0 && s <= 1)).length;
        reasons.push(`${count} of ${fixtures.cases} fixture scores are not finite numbers in [0, 1] (case ${bad} scored ${scores[bad]})`);
      }
    } catch (error) {
      reasons.push(`it fails on the fixture inputs: ${describeError(error).split('\n')[0]}`);
    }
    let candidateAuc: number | undefined;
    let currentAuc: number | undefined;
    if (heldOut !== undefined && reasons.length === 0) {
      const heldOutWidth = heldOut.featureNames.length;
      candidateAuc = rocAuc(await score(session, heldOut.features, heldOutWidth), heldOut.labels);
      if (currentSession !== undefined) currentAuc = rocAuc(await score(currentSession, heldOut.features, heldOutWidth), heldOut.labels);
      if (!Number.isFinite(candidateAuc)) {
        reasons.push(`its held-out AUC is undefined (${candidateAuc}): the held-out rows need both labels`);
      } else if (currentAuc !== undefined && candidateAuc < currentAuc - options.maxAucDrop) {
        reasons.push(`its held-out AUC ${candidateAuc.toFixed(4)} is ${(currentAuc - candidateAuc).toFixed(4)} below ${current!.id}'s ${currentAuc.toFixed(4)} (allowed drop ${options.maxAucDrop})`);
      }
    }
    return { ok: reasons.length === 0, reasons, ...(candidateAuc === undefined ? {} : { candidateAuc }), ...(currentAuc === undefined ? {} : { currentAuc }) };
  } finally {
    await Promise.allSettled(sessions.map((s) => s.release()));
  }
}
