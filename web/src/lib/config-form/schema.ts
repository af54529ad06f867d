// The subset of JSON Schema (draft 2020-12) that the config schema uses, and
// the walk that turns it into form fields: one group per object, one field
// per leaf, each carrying what its widget and its validation need.

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  'x-unit'?: string;
  /** How a change takes effect in a running engine: live, reconnect or restart. */
  'x-apply'?: string;
}

/** The widget a leaf gets. */
export type FieldKind = 'number' | 'integer' | 'boolean' | 'enum' | 'string' | 'choice-list' | 'text-list' | 'table-list';

export interface Choice {
  value: string;
  description?: string;
}

export interface Field {
  /** Dotted key path, such as `exits.stop_loss_atr_mult`. */
  path: string;
  /** The last key. */
  key: string;
  /** What people call the key: the schema's title, else the key humanised ("Stop loss ATR multiplier"). */
  label: string;
  /** The first sentence of the key's doc: the one-line help under the label. */
  help?: string;
  /** The rest of the doc, after the first sentence. */
  more?: string;
  /** How a change takes effect (`x-apply`: live, reconnect, restart): the key's own, else its section's, else live (the schema's default). */
  apply: string;
  kind: FieldKind;
  schema: JsonSchema;
  description?: string;
  unit?: string;
  /** For `enum` fields, and for `choice-list` items. */
  choices?: Choice[];
  /** For `text-list` and `table-list` fields: the schema of one item. */
  item?: JsonSchema;
  default?: unknown;
}

export interface FieldGroup {
  /** Dotted path of the object, such as `strategies.high_base`. */
  path: string;
  /** Its last key humanised ("High base"). */
  label: string;
  description?: string;
  fields: Field[];
}

/** The schema's types as a list (`type` may be a string or an array). */
export function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

/** Allowed string values, from `enum` or from a `oneOf` of `const`s (as schemars writes documented enums). */
export function choicesOf(schema: JsonSchema): Choice[] | undefined {
  if (schema.enum) {
    return schema.enum.filter((v): v is string => typeof v === 'string').map((value) => ({ value }));
  }
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants && variants.length > 0 && variants.every((v) => typeof v.const === 'string')) {
    return variants.map((v) => ({ value: v.const as string, description: v.description }));
  }
  return undefined;
}

function isObject(schema: JsonSchema): boolean {
  return typesOf(schema).includes('object') || schema.properties !== undefined;
}

function kindOf(schema: JsonSchema): { kind: FieldKind; choices?: Choice[]; item?: JsonSchema } {
  const choices = choicesOf(schema);
  if (choices) return { kind: 'enum', choices };
  const types = typesOf(schema);
  if (types.includes('array')) {
    const item = schema.items ?? {};
    const itemChoices = choicesOf(item);
    if (itemChoices) return { kind: 'choice-list', choices: itemChoices };
    // A list of tables (`[[notify.targets]]`): each item is a small form.
    return isObject(item) && item.properties ? { kind: 'table-list', item } : { kind: 'text-list', item };
  }
  if (types.includes('boolean')) return { kind: 'boolean' };
  if (types.includes('integer')) return { kind: 'integer' };
  if (types.includes('number')) return { kind: 'number' };
  return { kind: 'string' };
}

/** Words of key names written as people write them. */
const WORDS: Record<string, string> = {
  atr: 'ATR',
  iv: 'IV',
  dte: 'DTE',
  rsi: 'RSI',
  pop: 'POP',
  ev: 'EV',
  utc: 'UTC',
  id: 'ID',
  api: 'API',
  ib: 'IB',
  ibkr: 'IBKR',
  tws: 'TWS',
  url: 'URL',
  oi: 'open interest',
  mult: 'multiplier',
  pct: '%',
  usd: 'USD',
  json: 'JSON',
};

/** Key suffixes that only repeat the unit the schema states (`scan_interval_s` in s). */
const UNIT_SUFFIXES = ['s', 'ms', 'pct', 'minutes', 'min', 'days', 'usd', 'bars'];

/**
 * A key's name as a label: words split at `_`, known abbreviations
 * spelled as people write them, a trailing unit dropped when the schema
 * states the unit, the first word capitalised. `max_slippage_pct` (in %) is
 * "Max slippage"; `start_time_utc` is "Start time UTC".
 */
export function humanise(key: string, unit?: string): string {
  const words = key.split('_').filter((w) => w !== '');
  const last = words[words.length - 1];
  if (unit && words.length > 1 && last !== undefined && UNIT_SUFFIXES.includes(last)) words.pop();
  const text = words.map((w) => WORDS[w] ?? w).join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A doc comment's first sentence and the rest (whitespace collapsed; a "e.g." or "0.8 = 80%." does not end it). */
export function firstSentence(doc: string | undefined): { first?: string; rest?: string } {
  const text = (doc ?? '').replace(/\s+/gu, ' ').trim();
  if (text === '') return {};
  const end = /(?<!\be\.g|\bi\.e|\bvs)[.!?](?=\s+[A-Z(`"])/u.exec(text);
  if (!end) return { first: text };
  const rest = text.slice(end.index + 1).trim();
  return { first: text.slice(0, end.index + 1), ...(rest ? { rest } : {}) };
}

/** A piece of doc text: plain, or `code` (between backticks in the doc comment). */
export interface DocPiece {
  text: string;
  code: boolean;
}

/** Doc text split at its backticks, so `--live` shows as code rather than with its backticks. */
export function docPieces(text: string): DocPiece[] {
  return text
    .split('`')
    .map((piece, i) => ({ text: piece, code: i % 2 === 1 }))
    .filter((p) => p.text !== '');
}

/** The field of one leaf schema at `path`; `apply` is its section's `x-apply`, for a key that has none of its own. */
export function fieldOf(path: string, schema: JsonSchema, apply?: string): Field {
  const key = path.slice(path.lastIndexOf('.') + 1);
  const { first, rest } = firstSentence(schema.description);
  const ownApply = schema['x-apply'] ?? apply;
  return {
    path,
    key,
    label: schema.title ?? humanise(key, schema['x-unit']),
    ...(first ? { help: first } : {}),
    ...(rest ? { more: rest } : {}),
    apply: ownApply ?? 'live',
    schema,
    description: schema.description,
    unit: schema['x-unit'],
    default: schema.default,
    ...kindOf(schema),
  };
}

/**
 * The groups of the object schema at `path`: its own leaves first, then one
 * group per nested object (depth first), in schema order.
 */
export function groupsOf(path: string, schema: JsonSchema, apply?: string): FieldGroup[] {
  const own: FieldGroup = { path, label: humanise(path.slice(path.lastIndexOf('.') + 1)), description: schema.description, fields: [] };
  const nested: FieldGroup[] = [];
  const sectionApply = schema['x-apply'] ?? apply;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const childPath = path === '' ? key : `${path}.${key}`;
    if (isObject(child) && child.properties) {
      nested.push(...groupsOf(childPath, child, sectionApply));
    } else {
      own.fields.push(fieldOf(childPath, child, sectionApply));
    }
  }
  return own.fields.length > 0 ? [own, ...nested] : nested;
}

/** The sub-schema at a dotted path, or undefined. */
export function schemaAt(root: JsonSchema, path: string): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const key of path.split('.')) {
    node = node?.properties?.[key];
    if (!node) return undefined;
  }
  return node;
}

/** Every leaf field of the schema, keyed by path. */
export function fieldIndex(root: JsonSchema): Map<string, Field> {
  const index = new Map<string, Field>();
  for (const group of groupsOf('', root)) {
    for (const field of group.fields) index.set(field.path, field);
  }
  return index;
}

/** A new item of a table list: each key at its schema default (or the first allowed or empty value). */
export function newItem(item: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, sub] of Object.entries(item.properties ?? {})) {
    if (sub.default !== undefined) {
      out[key] = structuredClone(sub.default);
      continue;
    }
    const kind = kindOf(sub).kind;
    const choices = choicesOf(sub);
    out[key] =
      kind === 'enum' ? (choices?.[0]?.value ?? '')
      : kind === 'boolean' ? false
      : kind === 'integer' || kind === 'number' ? (sub.minimum ?? 0)
      : kind === 'choice-list' ? (choicesOf(sub.items ?? {}) ?? []).map((c) => c.value)
      : kind === 'text-list' || kind === 'table-list' ? []
      : '';
  }
  return out;
}
