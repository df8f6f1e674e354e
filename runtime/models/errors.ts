import { ModelError } from '../../core/errors.ts';

/** A manifest.json that is missing, not JSON, or not a valid manifest. */
export class ManifestError extends ModelError {}

/** A model spec (`models/fraud`, `models/fraud@3`, `x.onnx`) that names nothing usable. */
export class ModelNotFoundError extends ModelError {}
