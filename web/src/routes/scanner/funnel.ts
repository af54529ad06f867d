// The scanner's filter funnel, summed over the underlyings shown: per kind,
// how many spreads each filter removed, how many passed and were kept.

export interface KindFunnel {
  candidates: number;
  removed: Record<string, number>;
  passed: number;
  kept: number;
}

/** A scan's funnel as the API sends it (the OpenAPI document leaves its shape open, so it is checked here). */
export interface FunnelSource {
  funnel?: unknown;
}

function n(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** One of the best candidates that min_pop or min_score removed. */
export interface Rejected {
  kind: string;
  expiry: string;
  long: number;
  short: number;
  price: number | null;
  pop: number | null;
  score: number | null;
  removed_by: string;
  threshold: number | null;
}

/** The `top_rejected` entries of a scan that have the expected shape. */
export function rejectedOf(items: readonly unknown[] | undefined): Rejected[] {
  return (items ?? []).flatMap((item) => {
    const r = record(item);
    if (typeof r.kind !== 'string' || typeof r.removed_by !== 'string') return [];
    const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return [
      {
        kind: r.kind,
        expiry: typeof r.expiry === 'string' ? r.expiry : '',
        long: n(r.long),
        short: n(r.short),
        price: num(r.price),
        pop: num(r.pop),
        score: num(r.score),
        removed_by: r.removed_by,
        threshold: num(r.threshold),
      },
    ];
  });
}

/** The funnels of `scans` added up per kind, kinds in first-seen order. */
export function sumFunnels(scans: readonly FunnelSource[]): Map<string, KindFunnel> {
  const out = new Map<string, KindFunnel>();
  for (const scan of scans) {
    for (const [kind, value] of Object.entries(record(scan.funnel))) {
      const f = record(value);
      const sum = out.get(kind) ?? { candidates: 0, removed: {}, passed: 0, kept: 0 };
      sum.candidates += n(f.candidates);
      sum.passed += n(f.passed);
      sum.kept += n(f.kept);
      for (const [filter, count] of Object.entries(record(f.removed))) sum.removed[filter] = (sum.removed[filter] ?? 0) + n(count);
      out.set(kind, sum);
    }
  }
  return out;
}

/** Every filter named in any kind's funnel, in first-seen order. */
export function filtersOf(funnels: Map<string, KindFunnel>): string[] {
  const seen = new Set<string>();
  for (const f of funnels.values()) for (const name of Object.keys(f.removed)) seen.add(name);
  return [...seen];
}
