import { describe, expect, it } from 'vitest';
import { dailyPnl, equitySeries, linePath, money, newYorkDay, scale, ticks } from './pnl';

const trades = [
  { closed_at: '2026-11-24T15:00:00Z', realised_pnl: '-40.00' },
  { closed_at: '2026-11-23T16:00:00Z', realised_pnl: '120.50' },
  // 02:00 UTC on the 25th is still the 24th in New York
  { closed_at: '2026-11-25T02:00:00Z', realised_pnl: '10.10' },
];

describe('the equity curve', () => {
  it('accumulates realised P&L in close order from zero', () => {
    const e = equitySeries(trades, null, null);
    expect(e.realised.map((p) => p.v)).toEqual([0, 120.5, 80.5, 90.6]);
    expect(e.realised[0]!.t).toBe(Date.parse('2026-11-23T16:00:00Z'));
    expect(e.open).toBeNull();
    expect(e.total).toBe(90.6);
  });

  it('adds what is held now at its marks', () => {
    const now = Date.parse('2026-11-25T15:00:00Z');
    const e = equitySeries(trades, -30.6, now);
    expect(e.open).toEqual([{ t: Date.parse('2026-11-25T02:00:00Z'), v: 90.6 }, { t: now, v: 60 }]);
    expect(e.total).toBe(60);
    const fresh = equitySeries([], 12, now);
    expect(fresh.realised).toEqual([]);
    expect(fresh.open).toEqual([{ t: now, v: 0 }, { t: now, v: 12 }]);
  });
});

describe('daily P&L', () => {
  it('sums by New York trading day', () => {
    expect(newYorkDay(Date.parse('2026-11-25T02:00:00Z'))).toBe('2026-11-24');
    expect(dailyPnl(trades)).toEqual([
      { day: '2026-11-23', pnl: 120.5, trades: 1 },
      { day: '2026-11-24', pnl: -29.9, trades: 2 },
    ]);
  });
  it('reads decimal strings and treats junk as zero', () => {
    expect(money('-40.00')).toBe(-40);
    expect(money(null)).toBe(0);
    expect(money('n/a')).toBe(0);
  });
});

describe('chart geometry', () => {
  it('maps domains onto pixels and draws paths', () => {
    const x = scale(0, 10, 0, 100);
    const y = scale(-5, 5, 100, 0);
    expect(x(2.5)).toBe(25);
    expect(y(0)).toBe(50);
    expect(scale(3, 3, 0, 10)(3)).toBe(5);
    expect(linePath([{ t: 0, v: -5 }, { t: 10, v: 5 }], x, y)).toBe('M0.0 100.0 L100.0 0.0');
  });
  it('picks round ticks', () => {
    expect(ticks(0, 100, 4)).toEqual([0, 50, 100]);
    expect(ticks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(ticks(-37, 112, 4)).toEqual([0, 50, 100]);
    expect(ticks(5, 5)).toEqual([5]);
  });
});
