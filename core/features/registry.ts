import type { FeatureViewInfo } from './featureView.ts';

const views = new Map<string, FeatureViewInfo>();

/**
 * Remembers a view by name so operators and commands can find it by name (`lookupFeatures('fraud_user')`,
 * `sluice features check --job ...`). The first view of a name stays: a variant built later under the
 * same name (a test's planted skew) never replaces the job's own.
 *
 * @example
 * registerView(fraudFeatures); // featureView() does this itself
 */
export function registerView(view: FeatureViewInfo): void {
  if (!views.has(view.name)) views.set(view.name, view);
}

/**
 * The registered view of `name`, or undefined.
 *
 * @example
 * findView('fraud_user')?.features.length; // 10
 */
export function findView(name: string): FeatureViewInfo | undefined {
  return views.get(name);
}

/**
 * Names of every registered view, for error messages.
 *
 * @example
 * viewNames(); // ['fraud_user']
 */
export function viewNames(): string[] {
  return [...views.keys()];
}
