// A held spread's mark and open P&L over time, as the Positions view saw
// them: each positions fetch carries every spread's last mark and its time
// (the engine's clock), so each new mark time is one sample. The curve
// starts at the entry (P&L zero at the entry price).

export interface MarkSample {
  /** The mark's time, ms since the epoch (the engine's clock). */
  t: number;
  /** Net per share closing would fetch or cost. */
  mark: number;
  /** Open P&L in money. */
  pnl: number;
}

/** Samples kept per spread: the oldest go first. */
export const MAX_MARKS = 2000;

/**
 * `series` with `s` added in time order: a sample at the time of the last
 * replaces it (a re-fetch of the same cycle), an older one is ignored.
 */
export function addMark(series: readonly MarkSample[], s: MarkSample, max = MAX_MARKS): MarkSample[] {
  if (!Number.isFinite(s.t) || !Number.isFinite(s.mark) || !Number.isFinite(s.pnl)) return [...series];
  const last = series[series.length - 1];
  if (last && s.t < last.t) return [...series];
  const kept = last && s.t === last.t ? series.slice(0, -1) : series.slice();
  kept.push(s);
  return kept.length > max ? kept.slice(kept.length - max) : kept;
}

/** The series drawn: the entry (P&L zero) first when it is older than every sample. */
export function sinceEntry(series: readonly MarkSample[], openedAt: number, entryPrice: number | null): MarkSample[] {
  if (entryPrice === null || !Number.isFinite(openedAt) || !Number.isFinite(entryPrice)) return [...series];
  const first = series[0];
  if (first && first.t <= openedAt) return [...series];
  return [{ t: openedAt, mark: entryPrice, pnl: 0 }, ...series];
}
