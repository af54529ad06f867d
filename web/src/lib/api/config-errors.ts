// The per-key validation errors the server sends with a 422 (in
// `error.details.errors`) and in `status.config.last_reload_error.errors`.
// The OpenAPI document leaves their shape open, so it is checked here.

export interface ConfigError {
  path: string;
  kind: string;
  value: string | null;
  message: string;
  allowed: string | null;
  location: { line: number; column: number } | null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function location(v: unknown): ConfigError['location'] {
  if (typeof v !== 'object' || v === null || !('line' in v) || !('column' in v)) return null;
  return typeof v.line === 'number' && typeof v.column === 'number' ? { line: v.line, column: v.column } : null;
}

function one(v: unknown): ConfigError | null {
  if (typeof v !== 'object' || v === null || !('path' in v) || !('message' in v)) return null;
  const r = v as Record<string, unknown>;
  return {
    path: str(r.path) ?? '',
    kind: str(r.kind) ?? '',
    value: str(r.value),
    message: str(r.message) ?? '',
    allowed: str(r.allowed),
    location: location(r.location),
  };
}

/** The errors of a `{ errors: [...] }` value (an error's details, a reload error), or [] when it has none. */
export function configErrorsOf(v: unknown): ConfigError[] {
  if (typeof v !== 'object' || v === null || !('errors' in v) || !Array.isArray(v.errors)) return [];
  return v.errors.map(one).filter((e): e is ConfigError => e !== null);
}

/** "exits.stop_loss_atr_mult = 0: out of range (allowed ...) at 12:3" */
export function describeConfigError(e: ConfigError): string {
  const value = e.value !== null ? ` = ${e.value}` : '';
  const allowed = e.allowed !== null ? ` (allowed: ${e.allowed})` : '';
  const at = e.location !== null ? ` at line ${e.location.line}:${e.location.column}` : '';
  return `${e.path || '(file)'}${value}: ${e.message}${allowed}${at}`;
}

/**
 * The form field an error belongs to: `trading.universe[2]` belongs to
 * `trading.universe`, `notify.targets[1].name` to the list `notify.targets`.
 */
export function fieldPathOf(errorPath: string): string {
  return errorPath.replace(/\[\d+\].*$/u, '');
}
