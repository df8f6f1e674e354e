import { z } from 'zod';
import type { DriftColumn } from '../../core/drift/index.ts';
import { ManifestError } from './errors.ts';

/** The manifest format this code reads; models/registry.py writes the same number. */
export const MANIFEST_VERSION = 1;

/** The tensor element types onnxruntime-node names (`Tensor.Type`) that a model may take or give. */
const dtypeSchema = z.enum(['float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string'], {
  error: 'must be an onnxruntime tensor type such as float32 or int64',
});

const tensorSchema = z.strictObject({
  name: z.string().min(1, { error: 'must be a non-empty tensor name' }),
  dtype: dtypeSchema,
  // A symbolic (dynamic) axis is a string such as "batch", a fixed one a positive integer.
  shape: z.array(z.union([z.string().min(1), z.number().int().positive()], { error: 'each axis must be a positive integer or a symbolic name such as "batch"' })),
});

const histogramSchema = z
  .strictObject({
    edges: z.array(z.number(), { error: 'must be an array of finite numbers' }),
    proportions: z.array(z.number().nonnegative(), { error: 'must be an array of shares >= 0' }),
  })
  .superRefine((h, ctx) => {
    if (h.proportions.length !== h.edges.length + 1) {
      ctx.addIssue({ code: 'custom', message: `${h.edges.length} edges need ${h.edges.length + 1} proportions (got ${h.proportions.length})` });
    }
    if (h.edges.some((e, i) => i > 0 && e <= h.edges[i - 1]!)) {
      ctx.addIssue({ code: 'custom', path: ['edges'], message: 'must be strictly increasing' });
    }
    const sum = h.proportions.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-4) ctx.addIssue({ code: 'custom', path: ['proportions'], message: `must sum to 1 (got ${sum.toFixed(6)})` });
  });

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a sha256 in 64 lowercase hex digits' });

/** manifest.json of one registry version (see models/TRAINING.md for what each field means). */
export const manifestSchema = z
  .object({
    manifestVersion: z.literal(MANIFEST_VERSION, { error: `must be ${MANIFEST_VERSION}: this Sluice reads manifest format ${MANIFEST_VERSION}` }),
    name: z.string().min(1),
    version: z.number().int().positive({ error: 'must be a positive integer' }),
    created: z.string().regex(/^\d{4}-\d{2}-\d{2}/, { error: 'must be an ISO date such as 2026-11-26' }),
    model: z.object({
      file: z.string().min(1),
      sha256: sha256Schema,
      bytes: z.number().int().positive(),
      opset: z.number().int().positive().optional(),
    }),
    features: z.array(z.string().min(1)).min(1, { error: 'must name at least one feature' }),
    inputs: z.array(tensorSchema).min(1, { error: 'must describe at least one input tensor' }),
    outputs: z.array(tensorSchema).min(1, { error: 'must describe at least one output tensor' }),
    threshold: z.number().min(0).max(1).optional(),
    training: z
      .object({
        dataSha256: sha256Schema,
        rows: z.number().int().positive(),
      })
      .loose(),
    metrics: z.object({ auc: z.number().min(0).max(1) }).catchall(z.number()),
    reference: z.object({
      rows: z.number().int().positive(),
      features: z.record(z.string(), histogramSchema),
      score: histogramSchema,
    }),
  })
  .superRefine((m, ctx) => {
    const names = new Set(m.features);
    if (names.size !== m.features.length) ctx.addIssue({ code: 'custom', path: ['features'], message: 'must not repeat a feature name' });
    for (const name of m.features) {
      if (!(name in m.reference.features)) ctx.addIssue({ code: 'custom', path: ['reference', 'features'], message: `has no histogram for feature ${name}` });
    }
    for (const name of Object.keys(m.reference.features)) {
      if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['reference', 'features', name], message: 'is not one of the manifest features' });
    }
  });

/** A parsed, valid manifest. */
export type Manifest = z.infer<typeof manifestSchema>;
/** One input or output tensor as the manifest describes it. */
export type TensorSpec = z.infer<typeof tensorSchema>;

/**
 * Validates parsed JSON as a manifest. Throws ManifestError with one line naming the file, the
 * first bad field and what it must be (further problems are counted, not listed: fix one, rerun).
 *
 * @example
 * parseManifest(JSON.parse(text), 'models/fraud/1/manifest.json').version; // 1
 * parseManifest({}, 'm.json'); // throws "m.json is not a valid model manifest: manifestVersion must be 1 ... (and 9 more problems)"
 */
export function parseManifest(json: unknown, source: string): Manifest {
  const result = manifestSchema.safeParse(json);
  if (result.success) return result.data;
  const [first, ...rest] = result.error.issues;
  const where = first!.path.length === 0 ? 'manifest' : first!.path.join('.');
  const more = rest.length === 0 ? '' : ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})`;
  throw new ManifestError(`${source} is not a valid model manifest: ${where} ${first!.message}${more} — rewrite it with models/train.py`);
}

/**
 * The drift columns of a manifest for `core/drift`'s DriftWindow: every feature in tensor column
 * order, then `score`, so a row is the model's input row followed by its score.
 *
 * @example
 * const window = new DriftWindow(driftColumns(model.manifest));
 * window.add([...featureRow, score]);
 */
export function driftColumns(manifest: Manifest): DriftColumn[] {
  return [
    ...manifest.features.map((name) => ({ name, reference: manifest.reference.features[name]! })),
    { name: 'score', reference: manifest.reference.score },
  ];
}
