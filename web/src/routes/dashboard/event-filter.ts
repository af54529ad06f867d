// The events list's filter: by kind (a family such as `order`, which matches
// `order.placed`, `order.filled`, ..., or one exact kind) and by text, kept
// in the URL (`/?kind=order&q=SPY`) so a filtered list can be bookmarked.
//
// By default the routine kinds (`signal.none`: a symbol looked at and no
// strategy fired, several a minute) are left out: they would bury the rest.

export interface EventLike {
  kind: string;
  message: string;
  data?: unknown;
}

/** Kinds so frequent and so uneventful that the default view leaves them out. */
export const ROUTINE: readonly string[] = ['signal.none'];

/** The kind filter's special values: everything but the routine kinds (the default, no parameter), everything. */
export const NOT_ROUTINE = '';
export const EVERYTHING = 'all';

export interface EventFilter {
  /** NOT_ROUTINE, EVERYTHING, a family (`order`) or an exact kind (`order.filled`). */
  kind: string;
  /** Matched, case-insensitively, against the kind, the message and the data. */
  text: string;
}

export function filterFromParams(params: URLSearchParams): EventFilter {
  return { kind: params.get('kind') ?? NOT_ROUTINE, text: params.get('q') ?? '' };
}

/** `params` with the filter's parameters set (and dropped when at their defaults); other parameters kept. */
export function filterToParams(filter: EventFilter, params: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const out = new URLSearchParams(params);
  if (filter.kind === NOT_ROUTINE) out.delete('kind');
  else out.set('kind', filter.kind);
  if (filter.text.trim() === '') out.delete('q');
  else out.set('q', filter.text);
  return out;
}

/** The family of a kind: `order.filled` -> `order`. */
export function familyOf(kind: string): string {
  const dot = kind.indexOf('.');
  return dot < 0 ? kind : kind.slice(0, dot);
}

function kindMatches(kind: string, wanted: string): boolean {
  if (wanted === EVERYTHING) return true;
  if (wanted === NOT_ROUTINE) return !ROUTINE.includes(kind);
  return kind === wanted || kind.startsWith(`${wanted}.`);
}

/** A predicate for events that pass `filter`. */
export function matcher(filter: EventFilter): (e: EventLike) => boolean {
  const needle = filter.text.trim().toLowerCase();
  return (e) => {
    if (!kindMatches(e.kind, filter.kind)) return false;
    if (needle === '') return true;
    if (e.kind.toLowerCase().includes(needle) || e.message.toLowerCase().includes(needle)) return true;
    return e.data !== undefined && e.data !== null && JSON.stringify(e.data).toLowerCase().includes(needle);
  };
}

export interface KindCount {
  kind: string;
  count: number;
}

export interface FamilyCount {
  family: string;
  count: number;
  kinds: KindCount[];
}

/** The families and kinds among `events`, with their counts, in name order: the kind filter's choices. */
export function kindCounts(events: readonly EventLike[]): FamilyCount[] {
  const families = new Map<string, Map<string, number>>();
  for (const e of events) {
    const family = familyOf(e.kind);
    const kinds = families.get(family) ?? new Map<string, number>();
    kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    families.set(family, kinds);
  }
  return [...families.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([family, kinds]) => {
      const list = [...kinds.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, count]) => ({ kind, count }));
      return { family, count: list.reduce((n, k) => n + k.count, 0), kinds: list };
    });
}

/**
 * `events` (newest first) with at most `keep` events of other kinds and
 * `routineKeep` of the routine kinds, the newest of each: so a flood of
 * routine events does not push the rare, useful ones out of memory.
 */
export function trimEvents<T extends EventLike>(events: readonly T[], keep: number, routineKeep: number): T[] {
  let routine = 0;
  let other = 0;
  return events.filter((e) => {
    if (ROUTINE.includes(e.kind)) return ++routine <= routineKeep;
    return ++other <= keep;
  });
}
