import { describe, expect, it } from 'vitest';
import { addMark, sinceEntry } from './marks';

describe('addMark', () => {
  it('adds newer samples, replaces one at the same time and ignores older ones', () => {
    let s = addMark([], { t: 10, mark: 1.2, pnl: 5 });
    s = addMark(s, { t: 20, mark: 1.3, pnl: 15 });
    s = addMark(s, { t: 20, mark: 1.35, pnl: 20 });
    s = addMark(s, { t: 15, mark: 9, pnl: 9 });
    expect(s).toEqual([
      { t: 10, mark: 1.2, pnl: 5 },
      { t: 20, mark: 1.35, pnl: 20 },
    ]);
  });

  it('drops the oldest past the bound and refuses a sample that is not a number', () => {
    let s = [{ t: 1, mark: 1, pnl: 1 }];
    s = addMark(s, { t: 2, mark: 2, pnl: 2 }, 2);
    s = addMark(s, { t: 3, mark: 3, pnl: 3 }, 2);
    expect(s.map((x) => x.t)).toEqual([2, 3]);
    expect(addMark(s, { t: 4, mark: Number.NaN, pnl: 0 })).toEqual(s);
  });
});

describe('sinceEntry', () => {
  it('starts at the entry with no P&L', () => {
    const s = sinceEntry([{ t: 50, mark: 1.5, pnl: 30 }], 40, 1.2);
    expect(s[0]).toEqual({ t: 40, mark: 1.2, pnl: 0 });
    expect(s).toHaveLength(2);
    expect(sinceEntry([{ t: 40, mark: 1.5, pnl: 30 }], 40, 1.2)).toHaveLength(1);
    expect(sinceEntry([], 40, null)).toEqual([]);
  });
});
