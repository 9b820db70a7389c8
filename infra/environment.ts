import { parseSettings, type SettingName } from '../shared/config';
import { METRICS } from '../shared/observability/metric-names';

/** Values for the settings that shared/config.ts reads; a misspelt name is a compile error. */
export type SettingsValues = { readonly [K in SettingName]?: string };

/** Variables every function gets besides the settings: Powertools' service and metrics namespace. */
const POWERTOOLS_ENVIRONMENT = {
  POWERTOOLS_SERVICE_NAME: METRICS.service,
  POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
} as const;

/**
 * The Lambda environment for the given settings. The values go through the same schema the
 * functions parse at cold start, so a bad deployment setting fails the synth instead of every
 * invocation. Values that are CDK tokens (resource names, URLs) are only checked for presence.
 */
export function settingsEnvironment(values: SettingsValues): Record<string, string> {
  parseSettings(values);
  const settings = Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return { ...settings, ...POWERTOOLS_ENVIRONMENT };
}
