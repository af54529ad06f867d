// The Dashboard's money series, from the closed trades and the open
// positions: the realised P&L after commissions (a step at each close), the
// equity (realised plus the open P&L of what was held, sampled at each
// decision cycle the page saw) and the P&L of each trading day (New York
// date of the close).

export interface ClosedTrade {
  closed_at: string;
  realised_pnl: string;
}

export interface Point {
  /** ms since the epoch */
  t: number;
  /** dollars */
  v: number;
}

/** The open P&L (unrealised, at the marks of the spreads held) at one decision cycle. */
export interface OpenSample {
  /** The cycle's time on the engine's clock (ms since the epoch). */
  t: number;
  /** Dollars. */
  open: number;
  /** Spreads held then. */
  held: number;
}

export interface Equity {
  /**
   * Cumulative realised P&L as a step line: 0 before the first close, a
   * step at each close, carried flat to the chart's right edge.
   */
  realised: Point[];
  /** Realised plus open P&L at each sampled cycle: what the account made, marks included. */
  equity: Point[];
  /** Realised plus the latest open P&L. */
  total: number;
  /** The time span drawn (ms). */
  t0: number;
  t1: number;
}

export interface DayPnl {
  /** YYYY-MM-DD, New York time */
  day: string;
  pnl: number;
  trades: number;
}

/** A decimal string ("-40.00") as a number; null and junk are 0. */
export function money(s: string | null | undefined): number {
  const n = Number(s ?? '0');
  return Number.isFinite(n) ? n : 0;
}

const nyDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The New York calendar date of an instant (the exchange's trading day). */
export function newYorkDay(t: number): string {
  return nyDate.format(new Date(t));
}

function cents(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * The Dashboard's curves from the closed trades and the open-P&L samples,
 * drawn up to `now` (the engine's clock). With no closed trade the realised
 * line is flat at zero and the equity line is the open P&L over time.
 */
export function equitySeries(trades: readonly ClosedTrade[], samples: readonly OpenSample[], now: number | null): Equity {
  const closes = trades
    .map((tr) => ({ t: Date.parse(tr.closed_at), pnl: money(tr.realised_pnl) }))
    .filter((c) => Number.isFinite(c.t))
    .sort((a, b) => a.t - b.t);
  // Samples from before anything was held or closed say only "nothing yet": left out.
  const firstHeld = samples.reduce((t, s) => (s.held > 0 && s.t < t ? s.t : t), Infinity);
  const since = Math.min(firstHeld, closes[0]?.t ?? Infinity);
  const sorted = [...samples].filter((s) => Number.isFinite(s.t) && s.t >= since).sort((a, b) => a.t - b.t);
  const starts = [closes[0]?.t, sorted[0]?.t].filter((t): t is number => t !== undefined);
  const ends = [closes[closes.length - 1]?.t, sorted[sorted.length - 1]?.t, now ?? undefined].filter((t): t is number => t !== undefined);
  if (starts.length === 0) return { realised: [], equity: [], total: 0, t0: now ?? 0, t1: now ?? 0 };
  const t0 = Math.min(...starts);
  const t1 = Math.max(...ends);

  const realised: Point[] = [{ t: t0, v: 0 }];
  let sum = 0;
  for (const c of closes) {
    realised.push({ t: c.t, v: cents(sum) });
    sum += c.pnl;
    realised.push({ t: c.t, v: cents(sum) });
  }
  realised.push({ t: t1, v: cents(sum) });

  // The realised total at each sample's time (closes and samples both sorted).
  const equity: Point[] = [];
  let i = 0;
  let before = 0;
  for (const s of sorted) {
    while (i < closes.length && closes[i]!.t <= s.t) before += closes[i++]!.pnl;
    equity.push({ t: s.t, v: cents(before + s.open) });
  }
  const last = sorted[sorted.length - 1];
  return { realised, equity, total: cents(sum + (last?.open ?? 0)), t0, t1 };
}

/**
 * `samples` with `next` added: a repeated time replaces its sample, a time
 * before the last one (the engine's clock went back: another run) starts
 * afresh, and at most `keep` of the newest are kept.
 */
export function addSample(samples: readonly OpenSample[], next: OpenSample, keep = 720): OpenSample[] {
  const last = samples[samples.length - 1];
  if (last && next.t < last.t) return [next];
  const kept = last && next.t === last.t ? samples.slice(0, -1) : samples;
  return [...kept, next].slice(-keep);
}

const MINUTE = 60_000;
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10_080].map((m) => m * MINUTE);

/** Round instants covering [t0, t1] for a time axis (about `count`; steps of whole minutes, hours or days). */
export function timeTicks(t0: number, t1: number, count = 4): number[] {
  if (!(t1 > t0)) return [t0];
  const raw = (t1 - t0) / count;
  const step = STEPS.find((s) => s >= raw) ?? Math.ceil(raw / STEPS[STEPS.length - 1]!) * STEPS[STEPS.length - 1]!;
  const out: number[] = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return out;
}

/** Realised P&L per New York day, oldest first. */
export function dailyPnl(trades: readonly ClosedTrade[]): DayPnl[] {
  const days = new Map<string, DayPnl>();
  for (const tr of trades) {
    const t = Date.parse(tr.closed_at);
    if (!Number.isFinite(t)) continue;
    const day = newYorkDay(t);
    const d = days.get(day) ?? { day, pnl: 0, trades: 0 };
    d.pnl = Math.round((d.pnl + money(tr.realised_pnl)) * 100) / 100;
    d.trades += 1;
    days.set(day, d);
  }
  return [...days.values()].sort((a, b) => a.day.localeCompare(b.day));
}

/** A linear map from [d0, d1] onto [r0, r1] (a flat domain maps to the middle). */
export function scale(d0: number, d1: number, r0: number, r1: number): (x: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (x) => r0 + (x - d0) * k;
}

/** Round tick values covering [lo, hi] (about `count` of them, steps of 1, 2 or 5 times a power of ten). */
export function ticks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step + 0);
  return out;
}

/** An SVG path through the points ("M x y L x y ..."). */
export function linePath(points: readonly Point[], x: (t: number) => number, y: (v: number) => number): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)}`).join(' ');
}
