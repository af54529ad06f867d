// Sorting table rows by one column: numbers (and numeric strings such as
// "2.10") compare as numbers, nulls always last, ties keep their order.

export type Direction = 'asc' | 'desc';

export interface SortKey<K extends string> {
  column: K;
  direction: Direction;
}

function comparable(v: unknown): number | string | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const s = String(v);
  const n = Number(s);
  return Number.isFinite(n) && /^-?\d/u.test(s.trim()) ? n : s;
}

/** a before b (negative), after (positive) or a tie (0), nulls last whatever the direction. */
export function compareValues(a: unknown, b: unknown, direction: Direction): number {
  const x = comparable(a);
  const y = comparable(b);
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
  let c: number;
  if (typeof x === 'number' && typeof y === 'number') c = x - y;
  else c = String(x).localeCompare(String(y));
  return direction === 'asc' ? c : -c;
}

/** A sorted copy of `rows` by `key` (stable). */
export function sortRows<T, K extends string>(rows: readonly T[], key: SortKey<K>, get: (row: T, column: K) => unknown): T[] {
  return rows
    .map((row, i) => ({ row, i }))
    .sort((a, b) => compareValues(get(a.row, key.column), get(b.row, key.column), key.direction) || a.i - b.i)
    .map((x) => x.row);
}

/** The key after a click on `column`: the same column flips, a new one starts with `first`. */
export function nextSort<K extends string>(current: SortKey<K>, column: K, first: Direction = 'desc'): SortKey<K> {
  if (current.column === column) return { column, direction: current.direction === 'asc' ? 'desc' : 'asc' };
  return { column, direction: first };
}
