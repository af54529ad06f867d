import { describe, expect, it } from 'vitest';
import { addSample, dailyPnl, equitySeries, linePath, money, newYorkDay, scale, ticks, timeTicks } from './pnl';

const trades = [
  { closed_at: '2026-11-24T15:00:00Z', realised_pnl: '-40.00' },
  { closed_at: '2026-11-23T16:00:00Z', realised_pnl: '120.50' },
  // 02:00 UTC on the 25th is still the 24th in New York
  { closed_at: '2026-11-25T02:00:00Z', realised_pnl: '10.10' },
];

describe('the equity curve', () => {
  const at = (iso: string) => Date.parse(iso);
  it('steps the realised P&L at each close, in close order, flat to now', () => {
    const now = at('2026-11-25T15:00:00Z');
    const e = equitySeries(trades, [], now);
    expect(e.realised.map((p) => p.v)).toEqual([0, 0, 120.5, 120.5, 80.5, 80.5, 90.6, 90.6]);
    expect(e.realised[0]!.t).toBe(at('2026-11-23T16:00:00Z'));
    expect(e.realised[e.realised.length - 1]!.t).toBe(now);
    expect(e.equity).toEqual([]);
    expect(e.total).toBe(90.6);
  });

  it('adds the open P&L sampled at each cycle to the realised P&L of that moment', () => {
    const samples = [
      { t: at('2026-11-24T14:00:00Z'), open: -10, held: 1 },
      { t: at('2026-11-24T16:00:00Z'), open: 5.25, held: 1 },
    ];
    const e = equitySeries(trades, samples, null);
    // 120.50 realised by the first sample, 80.50 by the second.
    expect(e.equity).toEqual([
      { t: samples[0]!.t, v: 110.5 },
      { t: samples[1]!.t, v: 85.75 },
    ]);
    expect(e.total).toBe(95.85);
    expect(e.t1).toBe(at('2026-11-25T02:00:00Z'));
  });

  it('with only open positions, draws the open P&L over time from zero realised', () => {
    const samples = [
      { t: at('2026-11-23T15:00:00Z'), open: 12, held: 1 },
      { t: at('2026-11-23T15:01:00Z'), open: -3.5, held: 1 },
    ];
    const e = equitySeries([], samples, at('2026-11-23T15:02:00Z'));
    expect(e.equity.map((p) => p.v)).toEqual([12, -3.5]);
    expect(e.realised).toEqual([
      { t: samples[0]!.t, v: 0 },
      { t: at('2026-11-23T15:02:00Z'), v: 0 },
    ]);
    expect(e.total).toBe(-3.5);
    expect(equitySeries([], [], 5)).toEqual({ realised: [], equity: [], total: 0, t0: 5, t1: 5 });
    // Cycles before anything was held or closed are left out: nothing to draw yet.
    const idle = [{ t: at('2026-11-23T14:00:00Z'), open: 0, held: 0 }];
    expect(equitySeries([], idle, at('2026-11-23T14:05:00Z')).equity).toEqual([]);
    expect(equitySeries([], [...idle, ...samples], null).equity.map((p) => p.v)).toEqual([12, -3.5]);
  });

  it('keeps samples in time order, replaces a repeated time, restarts when the clock goes back', () => {
    let s = addSample([], { t: 10, open: 1, held: 1 });
    s = addSample(s, { t: 20, open: 2, held: 1 });
    s = addSample(s, { t: 20, open: 3, held: 1 });
    expect(s.map((x) => x.open)).toEqual([1, 3]);
    expect(addSample(s, { t: 5, open: 9, held: 0 })).toEqual([{ t: 5, open: 9, held: 0 }]);
    expect(addSample(s, { t: 30, open: 4, held: 1 }, 2).map((x) => x.t)).toEqual([20, 30]);
  });

  it('picks round instants for the time axis', () => {
    const t0 = at('2026-11-23T15:03:00Z');
    expect(timeTicks(t0, t0 + 60 * 60_000, 4).map((t) => new Date(t).toISOString().slice(11, 16))).toEqual(['15:15', '15:30', '15:45', '16:00']);
    expect(timeTicks(t0, t0)).toEqual([t0]);
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
