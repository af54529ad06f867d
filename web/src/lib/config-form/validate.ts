// Validation as you type, from the schema's own bounds: the same rules the
// server's validator applies per key (type, enum, range, length, pattern,
// items), so most mistakes are caught before a round trip. Cross-key rules
// (dte_min <= dte_max, ...) stay with the server; its 422 errors are mapped
// onto the fields by key path.

import { choicesOf, typesOf, type Field, type JsonSchema } from './schema';

/** A number in the form people read (no float noise such as 0.30000000000000004). */
export function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

/** What the schema allows, in words: "0.1 to 10 ATR", "one of paper, live", ... */
export function describeAllowed(schema: JsonSchema): string {
  const unit = schema['x-unit'] ? ` ${schema['x-unit']}` : '';
  const choices = choicesOf(schema);
  if (choices) return `one of ${choices.map((c) => c.value).join(', ')}`;
  const types = typesOf(schema);
  if (types.includes('number') || types.includes('integer')) {
    const kind = types.includes('integer') ? 'an integer' : 'a number';
    const lo = schema.minimum ?? schema.exclusiveMinimum;
    const hi = schema.maximum ?? schema.exclusiveMaximum;
    if (lo !== undefined && hi !== undefined && schema.exclusiveMinimum === undefined && schema.exclusiveMaximum === undefined) {
      return `${kind} from ${formatNumber(lo)} to ${formatNumber(hi)}${unit}`;
    }
    const parts: string[] = [];
    if (schema.minimum !== undefined) parts.push(`>= ${formatNumber(schema.minimum)}`);
    if (schema.exclusiveMinimum !== undefined) parts.push(`> ${formatNumber(schema.exclusiveMinimum)}`);
    if (schema.maximum !== undefined) parts.push(`<= ${formatNumber(schema.maximum)}`);
    if (schema.exclusiveMaximum !== undefined) parts.push(`< ${formatNumber(schema.exclusiveMaximum)}`);
    return parts.length > 0 ? `${kind} ${parts.join(' and ')}${unit}` : `${kind}${unit}`;
  }
  if (types.includes('boolean')) return 'true or false';
  if (types.includes('object')) return `a table of ${Object.keys(schema.properties ?? {}).join(', ')}`;
  if (types.includes('array')) {
    const parts: string[] = ['a list'];
    if (schema.minItems !== undefined) parts.push(`of at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
    if (schema.maxItems !== undefined) parts.push(`of at most ${schema.maxItems}`);
    if (schema.uniqueItems) parts.push('without repeats');
    if (schema.items) parts.push(`each ${describeAllowed(schema.items)}`);
    return parts.join(', ').replace('a list, of', 'a list of');
  }
  const parts: string[] = ['a text'];
  if (schema.minLength !== undefined) parts.push(schema.minLength === 1 ? 'not empty' : `of at least ${schema.minLength} characters`);
  if (schema.maxLength !== undefined) parts.push(`of at most ${schema.maxLength} characters`);
  if (schema.pattern !== undefined) parts.push(`matching ${schema.pattern}`);
  return parts.join(', ');
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return formatNumber(value);
  return JSON.stringify(value);
}

/** The first problem of `value` against `schema` (without the key path), or null. */
export function problemOf(schema: JsonSchema, value: unknown): string | null {
  const types = typesOf(schema);
  const choices = choicesOf(schema);
  if (choices) {
    return typeof value === 'string' && choices.some((c) => c.value === value) ? null : `${show(value)} is not allowed`;
  }
  if (types.includes('integer') || types.includes('number')) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
    if (types.includes('integer') && !types.includes('number') && !Number.isInteger(value)) return `${show(value)} is not an integer`;
    const below =
      (schema.minimum !== undefined && value < schema.minimum) ||
      (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum);
    const above =
      (schema.maximum !== undefined && value > schema.maximum) ||
      (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum);
    if (below || above) return `${show(value)} is out of range`;
    return null;
  }
  if (types.includes('boolean')) return typeof value === 'boolean' ? null : 'must be true or false';
  if (types.includes('object')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a table';
    const entries = value as Record<string, unknown>;
    for (const [key, sub] of Object.entries(schema.properties ?? {})) {
      if (!(key in entries)) continue;
      const p = problemOf(sub, entries[key]);
      if (p) return `${key}: ${p}`;
    }
    return null;
  }
  if (types.includes('array')) {
    if (!Array.isArray(value)) return 'must be a list';
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      return value.length === 0 ? 'must not be empty' : `has ${value.length} item${value.length === 1 ? '' : 's'}`;
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return `has ${value.length} items`;
    if (schema.uniqueItems) {
      const seen = new Set<string>();
      for (const item of value) {
        const k = JSON.stringify(item);
        if (seen.has(k)) return `${show(item)} is repeated`;
        seen.add(k);
      }
    }
    if (schema.items) {
      for (const item of value) {
        const p = problemOf(schema.items, item);
        if (p) return `item ${p}`;
      }
    }
    return null;
  }
  if (types.includes('string') || types.length === 0) {
    if (typeof value !== 'string') return 'must be a text';
    const len = [...value].length;
    if (schema.minLength !== undefined && len < schema.minLength) return len === 0 ? 'must not be empty' : `${show(value)} is too short`;
    if (schema.maxLength !== undefined && len > schema.maxLength) return `${show(value)} is too long`;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) return `${show(value)} has the wrong shape`;
    return null;
  }
  return null;
}

/** The message shown under a field: the key path, what is wrong, what is allowed. */
export function validateField(field: Field, value: unknown): string | null {
  const problem = problemOf(field.schema, value);
  return problem === null ? null : `${field.path}: ${problem}; allowed: ${describeAllowed(field.schema)}`;
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** Splits a list typed as text ("SPY, QQQ IWM") into its items. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/u)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Turns what was typed into the field's value, or says why it cannot. */
export function parseInput(field: Field, text: string): Parsed {
  const t = text.trim();
  switch (field.kind) {
    case 'integer':
      return /^[+-]?\d+$/u.test(t)
        ? { ok: true, value: Number(t) }
        : { ok: false, error: `${field.path}: ${show(text)} is not an integer; allowed: ${describeAllowed(field.schema)}` };
    case 'number': {
      const n = t === '' ? Number.NaN : Number(t);
      return Number.isFinite(n)
        ? { ok: true, value: n }
        : { ok: false, error: `${field.path}: ${show(text)} is not a number; allowed: ${describeAllowed(field.schema)}` };
    }
    case 'text-list':
      return { ok: true, value: splitList(text) };
    default:
      return { ok: true, value: text };
  }
}

/** The text a field shows for a value. */
export function formatInput(field: Field, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (field.kind === 'text-list' && Array.isArray(value)) return value.join(', ');
  if (typeof value === 'number') return formatNumber(value);
  return String(value);
}
