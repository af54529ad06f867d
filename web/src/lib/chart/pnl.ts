// The Dashboard's money series, from the closed trades and the open
// positions: the equity curve (cumulative realised P&L after commissions at
// each close, then the unrealised P&L of what is held now) and the P&L of
// each trading day (New York date of the close).

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

export interface Equity {
  /** Cumulative realised P&L: 0 before the first close, then one point per close. */
  realised: Point[];
  /** The last realised point joined to realised + unrealised at `now` (absent when nothing is held). */
  open: Point[] | null;
  total: number;
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

export function equitySeries(trades: readonly ClosedTrade[], unrealised: number | null, now: number | null): Equity {
  const closes = trades
    .map((tr) => ({ t: Date.parse(tr.closed_at), pnl: money(tr.realised_pnl) }))
    .filter((c) => Number.isFinite(c.t))
    .sort((a, b) => a.t - b.t);
  const realised: Point[] = [];
  let sum = 0;
  if (closes.length > 0) realised.push({ t: closes[0]!.t, v: 0 });
  for (const c of closes) {
    sum += c.pnl;
    realised.push({ t: c.t, v: Math.round(sum * 100) / 100 });
  }
  let open: Point[] | null = null;
  let total = sum;
  if (unrealised !== null && now !== null) {
    total = sum + unrealised;
    const last = realised[realised.length - 1] ?? { t: now, v: 0 };
    open = [last, { t: Math.max(now, last.t), v: Math.round(total * 100) / 100 }];
  }
  return { realised, open, total: Math.round(total * 100) / 100 };
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
