export { loadFixtures, loadHeldOut, type FixtureSet, type HeldOutSet } from './datasets.ts';
export { ManifestError, ModelNotFoundError } from './errors.ts';
export { driftColumns, MANIFEST_VERSION, manifestSchema, parseManifest, type Manifest, type TensorSpec } from './manifest.ts';
export { resolveModel, watchRegistry, type RegistryWatcher, type ResolvedModel, type SkippedVersion, type WatchRegistryOptions } from './registry.ts';
export { compareSignatures, sessionSignature, type Signature } from './signature.ts';
export { validateCandidate, type ValidateOptions, type ValidationResult } from './validate.ts';
export { checkVersion, listVersions, type VersionCheck } from './versions.ts';
