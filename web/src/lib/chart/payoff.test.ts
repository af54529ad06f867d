import { describe, expect, it } from 'vitest';
import { breakeven, expiryPnl, extremes, isCredit, priceRange, rightOf, samplePrices, todayPnl, toMoney, type Vertical } from './payoff';

const bullCall: Vertical = { kind: 'bull_call', longStrike: 100, shortStrike: 105, price: 2, quantity: 2, multiplier: 100 };
const bearCall: Vertical = { kind: 'bear_call', longStrike: 105, shortStrike: 100, price: 1.5, quantity: 1, multiplier: 100 };
const bullPut: Vertical = { kind: 'bull_put', longStrike: 95, shortStrike: 100, price: 1.2, quantity: 1, multiplier: 100 };
const bearPut: Vertical = { kind: 'bear_put', longStrike: 100, shortStrike: 95, price: 2.5, quantity: 3, multiplier: 100 };

describe('the legs', () => {
  it('takes the right and the side from the kind', () => {
    expect(rightOf('bull_call')).toBe('C');
    expect(rightOf('bull_put')).toBe('P');
    expect(isCredit('bear_call')).toBe(true);
    expect(isCredit('bull_put')).toBe(true);
    expect(isCredit('bull_call')).toBe(false);
    expect(isCredit('bear_put')).toBe(false);
  });
});

describe('P&L at expiry', () => {
  it('a debit call spread loses the debit below and makes the width less the debit above', () => {
    expect(expiryPnl(bullCall, 90)).toBeCloseTo(-2, 10);
    expect(expiryPnl(bullCall, 110)).toBeCloseTo(3, 10);
    expect(expiryPnl(bullCall, 102)).toBeCloseTo(0, 10);
    expect(extremes(bullCall)).toEqual({ maxProfit: 600, maxLoss: 400 });
    expect(breakeven(bullCall)).toBe(102);
  });

  it('a credit call spread keeps the credit below and loses the width less the credit above', () => {
    expect(expiryPnl(bearCall, 95)).toBeCloseTo(1.5, 10);
    expect(expiryPnl(bearCall, 120)).toBeCloseTo(-3.5, 10);
    expect(breakeven(bearCall)).toBe(101.5);
    expect(expiryPnl(bearCall, 101.5)).toBeCloseTo(0, 10);
    expect(extremes(bearCall)).toEqual({ maxProfit: 150, maxLoss: 350 });
  });

  it('put spreads, credit and debit', () => {
    expect(expiryPnl(bullPut, 110)).toBeCloseTo(1.2, 10);
    expect(expiryPnl(bullPut, 80)).toBeCloseTo(-3.8, 10);
    expect(breakeven(bullPut)).toBeCloseTo(98.8, 10);
    expect(expiryPnl(bearPut, 90)).toBeCloseTo(2.5, 10);
    expect(expiryPnl(bearPut, 105)).toBeCloseTo(-2.5, 10);
    expect(breakeven(bearPut)).toBe(97.5);
    expect(extremes(bearPut)).toEqual({ maxProfit: 750, maxLoss: 750 });
  });

  it('has no breakeven when the price is not inside the width', () => {
    expect(breakeven({ ...bullCall, price: 5 })).toBeNull();
    expect(breakeven({ ...bullCall, price: 0 })).toBeNull();
  });
});

describe('P&L today', () => {
  it('tends to the expiry P&L as time runs out', () => {
    for (const spot of [95, 101, 103, 108]) {
      expect(todayPnl(bullCall, spot, 1e-9, 0.3, 0.3)).toBeCloseTo(expiryPnl(bullCall, spot), 6);
    }
  });

  it('lies strictly between the extremes before expiry (a vertical is worth between 0 and its width)', () => {
    for (const spot of [80, 100, 102, 105, 130]) {
      const v = todayPnl(bullCall, spot, 30 / 365, 0.25, 0.22);
      expect(v).toBeGreaterThan(-2);
      expect(v).toBeLessThan(3);
    }
  });

  it('values the legs by Black-Scholes: at-the-money call less the 105 call at 20%, 1 year, no rate', () => {
    // C(100,100) = 7.96557; C(100,105) = 5.90559 (Python's math.erf); the spread is worth 2.05997, less the 2.00 paid.
    expect(todayPnl(bullCall, 100, 1, 0.2, 0.2)).toBeCloseTo(0.05997, 4);
    expect(toMoney(bullCall, todayPnl(bullCall, 100, 1, 0.2, 0.2))).toBeCloseTo(11.995, 1);
  });
});

describe('the chart range', () => {
  it('holds both strikes and the spot with a margin', () => {
    const [lo, hi] = priceRange(bullCall, 112);
    expect(lo).toBeLessThan(100);
    expect(hi).toBeGreaterThan(112);
    const xs = samplePrices(lo, hi, 10, [100, 105]);
    expect(xs).toContain(100);
    expect(xs).toContain(105);
    expect(xs.length).toBe(12);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
  });
});
