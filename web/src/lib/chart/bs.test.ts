import { describe, expect, it } from 'vitest';
import { bsPrice, intrinsic, normCdf } from './bs';

describe('normCdf', () => {
  it('matches the table', () => {
    expect(normCdf(0)).toBeCloseTo(0.5, 7);
    expect(normCdf(1)).toBeCloseTo(0.841344746, 6);
    expect(normCdf(-1.96)).toBeCloseTo(0.024997895, 6);
    expect(normCdf(3)).toBeCloseTo(0.998650102, 6);
    expect(normCdf(Number.POSITIVE_INFINITY)).toBe(1);
    expect(normCdf(Number.NEGATIVE_INFINITY)).toBe(0);
  });
});

describe('bsPrice', () => {
  // Hull, Options, Futures and Other Derivatives, example 15.6: S 42, K 40, r 10%, sigma 20%, 6 months.
  it("prices Hull's example", () => {
    const o = { spot: 42, strike: 40, years: 0.5, vol: 0.2, rate: 0.1 };
    expect(bsPrice('C', o)).toBeCloseTo(4.76, 2);
    expect(bsPrice('P', o)).toBeCloseTo(0.81, 2);
  });

  it('prices the textbook at-the-money case (S = K = 100, r 5%, sigma 20%, 1 year)', () => {
    const o = { spot: 100, strike: 100, years: 1, vol: 0.2, rate: 0.05 };
    expect(bsPrice('C', o)).toBeCloseTo(10.4506, 3);
    expect(bsPrice('P', o)).toBeCloseTo(5.5735, 3);
  });

  it('keeps put-call parity with no rate (C - P = S - K)', () => {
    for (const spot of [80, 95, 100, 117.5]) {
      const o = { spot, strike: 100, years: 30 / 365, vol: 0.35 };
      expect(bsPrice('C', o) - bsPrice('P', o)).toBeCloseTo(spot - 100, 6);
    }
  });

  it('is the intrinsic value at expiry and with no volatility', () => {
    expect(bsPrice('C', { spot: 105, strike: 100, years: 0, vol: 0.3 })).toBe(5);
    expect(bsPrice('P', { spot: 105, strike: 100, years: 0, vol: 0.3 })).toBe(0);
    expect(bsPrice('P', { spot: 90, strike: 100, years: 1, vol: 0 })).toBe(10);
    expect(intrinsic('P', 90, 100)).toBe(10);
  });

  it('is worth more than intrinsic before expiry, and more with more time', () => {
    const short = bsPrice('C', { spot: 100, strike: 100, years: 10 / 365, vol: 0.25 });
    const long = bsPrice('C', { spot: 100, strike: 100, years: 60 / 365, vol: 0.25 });
    expect(short).toBeGreaterThan(0);
    expect(long).toBeGreaterThan(short);
  });
});
