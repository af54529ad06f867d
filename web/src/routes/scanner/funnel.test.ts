import { describe, expect, it } from 'vitest';
import { filtersOf, rejectedOf, sumFunnels } from './funnel';

describe('the scanner funnel', () => {
  it('adds the funnels of several underlyings per kind and filter', () => {
    const scans = [
      { funnel: { bull_call: { candidates: 100, removed: { min_pop: 30, max_width: 5 }, passed: 65, kept: 5 } } },
      {
        funnel: {
          bull_call: { candidates: 50, removed: { min_pop: 10 }, passed: 40, kept: 5 },
          bear_put: { candidates: 20, removed: { min_score: 20 }, passed: 0, kept: 0 },
        },
      },
      { funnel: null },
    ];
    const sum = sumFunnels(scans);
    expect([...sum.keys()]).toEqual(['bull_call', 'bear_put']);
    expect(sum.get('bull_call')).toEqual({ candidates: 150, removed: { min_pop: 40, max_width: 5 }, passed: 105, kept: 10 });
    expect(filtersOf(sum)).toEqual(['min_pop', 'max_width', 'min_score']);
  });

  it('reads the removed best candidates, skipping malformed ones', () => {
    const r = rejectedOf([{ kind: 'bull_put', expiry: '2026-12-18', long: 470, short: 475, price: 1.2, pop: 0.41, score: 0.1, removed_by: 'min_pop', threshold: 0.5 }, { nonsense: 1 }]);
    expect(r).toEqual([{ kind: 'bull_put', expiry: '2026-12-18', long: 470, short: 475, price: 1.2, pop: 0.41, score: 0.1, removed_by: 'min_pop', threshold: 0.5 }]);
    expect(rejectedOf(undefined)).toEqual([]);
  });
});
