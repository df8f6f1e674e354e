/**
 * Credentials never reach Sluice's output. Everything Sluice prints about where it sends data
 * (start-up lines, errors) passes URLs, header lists and connection settings through these
 * helpers first.
 */

/** What a hidden value is printed as. */
export const REDACTED = '***';

/** Query parameters that carry credentials in common endpoints (signed URLs, API keys). */
const SECRET_NAME = /pass|secret|token|key|auth|credential|signature|sig$|session|cookie/i;

/**
 * A URL with its credentials hidden: the password of the userinfo (a lone user name, often a
 * token, too) and the values of query parameters whose names look secret. Text that is not a
 * URL still has anything between `//` and `@` hidden.
 *
 * @example
 * redactUrl('https://user:s3cret@collector:4318/v1/traces') // 'https://user:***@collector:4318/v1/traces'
 * redactUrl('https://collector/v1/traces?api_key=abc') // 'https://collector/v1/traces?api_key=***'
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@\s]*@/g, `//${REDACTED}@`);
  }
  if (parsed.password !== '') parsed.password = REDACTED;
  else if (parsed.username !== '') parsed.username = REDACTED;
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_NAME.test(name)) parsed.searchParams.set(name, REDACTED);
  }
  // URL re-encodes the marker in userinfo; show it as written.
  const text = parsed.href.replaceAll(encodeURIComponent(REDACTED), REDACTED);
  // Keep the caller's spelling: URL adds a trailing slash to a bare origin.
  return !url.endsWith('/') && parsed.pathname === '/' && parsed.search === '' && parsed.hash === '' ? text.replace(/\/$/, '') : text;
}

/**
 * Header names with every value hidden, for a line that says which headers are sent. Takes the
 * `OTEL_EXPORTER_OTLP_HEADERS` form (`name=value,name2=value2`) or an object. All values are
 * hidden, not only `Authorization`: vendors put API keys in headers of their own
 * (`x-honeycomb-team`, `dd-api-key`).
 *
 * @example
 * redactHeaders('Authorization=Bearer abc,x-tenant=acme') // 'Authorization=***,x-tenant=***'
 */
export function redactHeaders(headers: string | Readonly<Record<string, string | readonly string[] | undefined>>): string {
  const names =
    typeof headers === 'string'
      ? headers
          .split(',')
          .map((pair) => pair.split('=')[0]!.trim())
          .filter((name) => name !== '')
      : Object.keys(headers);
  return names.map((name) => `${decodeName(name)}=${REDACTED}`).join(',');
}

/**
 * A copy of connection settings (Kafka SASL or SSL options, say) fit to print: values under
 * secret-looking names (`password`, `token`, `secret`, `key`, ...) are hidden at any depth, URLs
 * in strings are redacted, functions (an OAuth token provider) are shown as `[function]`.
 *
 * @example
 * redactSettings({ sasl: { mechanism: 'plain', username: 'app', password: 'pw' } })
 * // { sasl: { mechanism: 'plain', username: 'app', password: '***' } }
 */
export function redactSettings(settings: unknown): unknown {
  if (typeof settings === 'string') return redactUrl(settings);
  if (typeof settings === 'function') return '[function]';
  if (settings instanceof Uint8Array) return `[${settings.length} bytes]`;
  if (Array.isArray(settings)) return settings.map((item: unknown) => redactSettings(item));
  if (typeof settings !== 'object' || settings === null) return settings;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(settings)) {
    // A secret-looking name hides a value, not a whole group (`oauth: { ... }` is walked into).
    const leaf = typeof value !== 'object' || value === null || value instanceof Uint8Array;
    out[name] = leaf && SECRET_NAME.test(name) && value !== undefined && value !== null ? REDACTED : redactSettings(value);
  }
  return out;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
