import type { ModelOptions } from '../../core/inference.ts';
import type { Manifest } from './manifest.ts';
import { compareSignatures, type Signature } from './signature.ts';

const show = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/**
 * Why a loaded model cannot be fed the way its caller says (empty when it can): the manifest's
 * tensors are the model's, the feature tensor feeds a float32 [batch, columns] input whose width
 * (and the manifest's feature count) is `columns`, every input is fed, and the score output exists.
 *
 * @example
 * modelFitProblems(signature, { columns: 11 }, manifest);
 * // ['it takes 10 features (features float32[batch,10]), the job gives 11 (columns)', ...]
 */
export function modelFitProblems(signature: Signature, options: ModelOptions, manifest: Manifest | undefined): string[] {
  const problems: string[] = [];
  if (manifest !== undefined) problems.push(...compareSignatures(signature, manifest, 'its manifest'));
  const inputNames = signature.inputs.map((t) => t.name);
  const featuresInput = options.featuresInput ?? inputNames[0];
  const input = signature.inputs.find((t) => t.name === featuresInput);
  if (input === undefined) {
    problems.push(`it has no input "${featuresInput}" (its inputs: ${show(inputNames)})`);
  } else {
    if (input.dtype !== 'float32') problems.push(`its input "${input.name}" is ${input.dtype}; the feature tensor is float32`);
    const width = input.shape.length === 2 && typeof input.shape[1] === 'number' ? input.shape[1] : undefined;
    if (options.columns !== undefined && width !== undefined && width !== options.columns) {
      problems.push(`it takes ${width} features (${input.name} [${input.shape.join(',')}]), the job gives ${options.columns} (columns)`);
    }
    if (options.columns !== undefined && manifest !== undefined && manifest.features.length !== options.columns) {
      problems.push(`its manifest names ${manifest.features.length} features, the job gives ${options.columns} (columns)`);
    }
  }
  const fed = new Set([featuresInput, ...(options.inputs ?? [])]);
  const unfed = inputNames.filter((name) => !fed.has(name));
  if (unfed.length > 0) problems.push(`its input${unfed.length === 1 ? '' : 's'} ${show(unfed)} ${unfed.length === 1 ? 'is' : 'are'} not fed (give infer() \`inputs\` for ${unfed.length === 1 ? 'it' : 'them'})`);
  const unknown = (options.inputs ?? []).filter((name) => !inputNames.includes(name));
  if (unknown.length > 0) problems.push(`it has no input${unknown.length === 1 ? '' : 's'} ${show(unknown)} (its inputs: ${show(inputNames)})`);
  const outputNames = signature.outputs.map((t) => t.name);
  if (options.scoreOutput !== undefined && !outputNames.includes(options.scoreOutput)) {
    problems.push(`it has no output "${options.scoreOutput}" (its outputs: ${show(outputNames)})`);
  }
  return problems;
}
