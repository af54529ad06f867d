// A vertical spread's P&L across underlying prices: at expiry (the legs'
// intrinsic values) and today (Black-Scholes at each leg's implied
// volatility), per share and in money. Drawn by the spread panel's payoff
// chart; the same for a scanned spread and a held one.
import { bsPrice, intrinsic, type Right } from './bs';

export interface Vertical {
  /** `bull_call`, `bear_call`, `bear_put` or `bull_put`. */
  kind: string;
  longStrike: number;
  shortStrike: number;
  /** Net per share, paid for a debit kind, received for a credit (>= 0). */
  price: number;
  /** Spreads. */
  quantity: number;
  /** Shares per contract. */
  multiplier: number;
}

/** The right of a kind's legs. */
export function rightOf(kind: string): Right {
  return kind.endsWith('_put') ? 'P' : 'C';
}

/** Whether the kind is opened for a credit (bear call, bull put). */
export function isCredit(kind: string): boolean {
  return kind === 'bear_call' || kind === 'bull_put';
}

/** What the net price adds to the legs' value per share: paid (debit) counts against, received (credit) for. */
function signedPrice(v: Vertical): number {
  return isCredit(v.kind) ? v.price : -v.price;
}

/** P&L per share at expiry with the underlying at `spot`. */
export function expiryPnl(v: Vertical, spot: number): number {
  const r = rightOf(v.kind);
  return intrinsic(r, spot, v.longStrike) - intrinsic(r, spot, v.shortStrike) + signedPrice(v);
}

/** P&L per share now, with `years` to expiry and each leg at its implied volatility. */
export function todayPnl(v: Vertical, spot: number, years: number, longVol: number, shortVol: number, rate = 0): number {
  const r = rightOf(v.kind);
  const long = bsPrice(r, { spot, strike: v.longStrike, years, vol: longVol, rate });
  const short = bsPrice(r, { spot, strike: v.shortStrike, years, vol: shortVol, rate });
  return long - short + signedPrice(v);
}

/** Per share to money for the whole position. */
export function toMoney(v: Vertical, perShare: number): number {
  return perShare * v.multiplier * v.quantity;
}

/** The most the spread makes and loses at expiry, in money (loss as a positive number). */
export function extremes(v: Vertical): { maxProfit: number; maxLoss: number } {
  const lo = Math.min(v.longStrike, v.shortStrike);
  const hi = Math.max(v.longStrike, v.shortStrike);
  const a = expiryPnl(v, lo);
  const b = expiryPnl(v, hi);
  return { maxProfit: toMoney(v, Math.max(a, b)), maxLoss: toMoney(v, -Math.min(a, b)) };
}

/** The underlying price at expiry where the P&L is zero (between the strikes), if the price is inside the width. */
export function breakeven(v: Vertical): number | null {
  const r = rightOf(v.kind);
  const width = Math.abs(v.longStrike - v.shortStrike);
  if (!(v.price > 0) || v.price >= width) return null;
  // A call spread is worth (spot - lower strike) in between; a put spread (higher strike - spot).
  const lo = Math.min(v.longStrike, v.shortStrike);
  const hi = Math.max(v.longStrike, v.shortStrike);
  // Debit or credit alike, the net price is paid back (or given up) over the same distance from that strike.
  return r === 'C' ? lo + v.price : hi - v.price;
}

/** The prices to draw across: the strikes and `spot` with a margin either side (at least 40% of the width, or 4% of the spot). */
export function priceRange(v: Vertical, spot: number | null): [number, number] {
  const pts = [v.longStrike, v.shortStrike, ...(spot !== null && Number.isFinite(spot) ? [spot] : [])];
  const lo = Math.min(...pts);
  const hi = Math.max(...pts);
  const pad = Math.max((hi - lo) * 0.4, Math.abs(v.longStrike - v.shortStrike) * 1.5, (spot ?? lo) * 0.02);
  return [Math.max(lo - pad, 0), hi + pad];
}

/** `n` evenly spaced prices over `[lo, hi]` (the strikes added, so the expiry line's kinks are exact). */
export function samplePrices(lo: number, hi: number, n: number, strikes: number[] = []): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i += 1) out.push(lo + ((hi - lo) * i) / (n - 1));
  for (const k of strikes) if (k > lo && k < hi) out.push(k);
  return out.sort((a, b) => a - b);
}
