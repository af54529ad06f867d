import { describe, expect, it } from 'vitest';
import { compareValues, nextSort, sortRows } from './sort';
import { visibleWindow } from './virtual';

describe('sorting rows', () => {
  const rows = [
    { s: 'QQQ', pop: 0.5, price: '2.10' },
    { s: 'AAPL', pop: null, price: '10.5' },
    { s: 'SPY', pop: 0.71, price: '-0.40' },
    { s: 'IWM', pop: 0.5, price: null },
  ];
  const get = (r: (typeof rows)[number], c: 's' | 'pop' | 'price') => r[c];

  it('compares numbers and numeric strings as numbers, nulls last both ways', () => {
    expect(sortRows(rows, { column: 'price', direction: 'asc' }, get).map((r) => r.price)).toEqual(['-0.40', '2.10', '10.5', null]);
    expect(sortRows(rows, { column: 'price', direction: 'desc' }, get).map((r) => r.price)).toEqual(['10.5', '2.10', '-0.40', null]);
    expect(sortRows(rows, { column: 'pop', direction: 'desc' }, get).map((r) => r.s)).toEqual(['SPY', 'QQQ', 'IWM', 'AAPL']);
  });

  it('sorts text and keeps ties in their order', () => {
    expect(sortRows(rows, { column: 's', direction: 'asc' }, get).map((r) => r.s)).toEqual(['AAPL', 'IWM', 'QQQ', 'SPY']);
    expect(sortRows(rows, { column: 'pop', direction: 'asc' }, get).map((r) => r.s)).toEqual(['QQQ', 'IWM', 'SPY', 'AAPL']);
    expect(compareValues('b', 'a', 'asc')).toBeGreaterThan(0);
  });

  it('flips the direction on a second click, starts a new column with the given direction', () => {
    expect(nextSort({ column: 'pop', direction: 'desc' }, 'pop')).toEqual({ column: 'pop', direction: 'asc' });
    expect(nextSort({ column: 'pop', direction: 'asc' }, 'score')).toEqual({ column: 'score', direction: 'desc' });
    expect(nextSort({ column: 'pop', direction: 'asc' }, 'dte', 'asc')).toEqual({ column: 'dte', direction: 'asc' });
  });
});

describe('the virtual window', () => {
  it('renders the rows in view plus the overscan, with spacers for the rest', () => {
    const w = visibleWindow(10_000, 2800, 400, 28, 5);
    expect(w.start).toBe(95);
    expect(w.end).toBe(100 + 16 + 5);
    expect(w.before).toBe(95 * 28);
    expect(w.after).toBe((10_000 - w.end) * 28);
    expect(w.before + (w.end - w.start) * 28 + w.after).toBe(10_000 * 28);
  });

  it('clamps at both ends and handles empty tables', () => {
    expect(visibleWindow(20, 0, 400, 28, 8)).toEqual({ start: 0, end: 20, before: 0, after: 0 });
    const bottom = visibleWindow(100, 100 * 28, 400, 28, 4);
    expect(bottom.end).toBe(100);
    expect(bottom.after).toBe(0);
    expect(visibleWindow(0, 50, 400, 28)).toEqual({ start: 0, end: 0, before: 0, after: 0 });
  });
});
