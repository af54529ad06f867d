// Reading and writing a config value tree by dotted key path, and which keys
// differ between the config in force and the draft (lists compare whole, as
// the server's diff does).

export function isPlainObject(v: unknown): v is { [key: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at `path` ("exits.stop_loss_atr_mult"), or undefined. */
export function getAt(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

function setIn(root: Record<string, unknown>, keys: string[], value: unknown): Record<string, unknown> {
  const [key, ...rest] = keys;
  if (key === undefined) return root;
  if (rest.length === 0) return { ...root, [key]: value };
  const child = root[key];
  return { ...root, [key]: setIn(isPlainObject(child) ? child : {}, rest, value) };
}

/**
 * A copy of `root` with `value` at `path`; the objects along the path are
 * copied, the rest shared. The result keeps `root`'s type: whether the value
 * fits is the schema validation's job, not the type checker's.
 */
export function setAt<T extends object>(root: T, path: string, value: unknown): T {
  return setIn(Object.fromEntries(Object.entries(root)), path.split('.'), value) as T;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** Dotted paths of the leaves (non-object values) whose values differ, in `a`'s key order. */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
    return keys.flatMap((k) => changedPaths(a[k], b[k], prefix === '' ? k : `${prefix}.${k}`));
  }
  return deepEqual(a, b) ? [] : [prefix];
}
