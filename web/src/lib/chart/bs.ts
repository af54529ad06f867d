// Black-Scholes for the payoff chart's "today" curve: what a vertical is
// worth before expiry across underlying prices. The scanner values spreads
// under a driftless lognormal at the legs' implied volatility
// (docs/scanner.md), so the chart uses the same: rate 0 unless given.
// Display only: no price that reaches an order is computed here.

/** The standard normal CDF, through erfc (absolute error below 1e-7: ample for a chart). */
export function normCdf(x: number): number {
  if (!Number.isFinite(x)) return x > 0 ? 1 : 0;
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Complementary error function (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export type Right = 'C' | 'P';

/** One option's inputs: spot, strike, years to expiry, annual volatility (0.2 = 20%), annual rate. */
export interface OptionInput {
  spot: number;
  strike: number;
  years: number;
  vol: number;
  rate?: number;
}

/** What the option is worth at expiry. */
export function intrinsic(right: Right, spot: number, strike: number): number {
  return right === 'C' ? Math.max(spot - strike, 0) : Math.max(strike - spot, 0);
}

/**
 * The Black-Scholes price of a European option per share. At or past
 * expiry, or with no volatility, it is the (discounted) intrinsic value.
 */
export function bsPrice(right: Right, o: OptionInput): number {
  const r = o.rate ?? 0;
  const { spot: s, strike: k, years: t, vol: v } = o;
  if (!(s > 0) || !(k > 0)) return intrinsic(right, s, k);
  if (!(t > 0) || !(v > 0)) {
    const df = t > 0 ? Math.exp(-r * t) : 1;
    return right === 'C' ? Math.max(s - k * df, 0) : Math.max(k * df - s, 0);
  }
  const sq = v * Math.sqrt(t);
  const d1 = (Math.log(s / k) + (r + (v * v) / 2) * t) / sq;
  const d2 = d1 - sq;
  const df = Math.exp(-r * t);
  return right === 'C' ? s * normCdf(d1) - k * df * normCdf(d2) : k * df * normCdf(-d2) - s * normCdf(-d1);
}
