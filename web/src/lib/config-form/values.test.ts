import { describe, expect, it } from 'vitest';
import { changedPaths, deepEqual, getAt, setAt } from './values';

const base = { exits: { stop_loss_atr_mult: 2, exit_dte: 7 }, trading: { universe: ['SPY', 'QQQ'], mode: 'paper' } };

describe('config values by key path', () => {
  it('reads and writes without touching the original', () => {
    const next = setAt(base, 'exits.stop_loss_atr_mult', 1.5);
    expect(getAt(next, 'exits.stop_loss_atr_mult')).toBe(1.5);
    expect(getAt(base, 'exits.stop_loss_atr_mult')).toBe(2);
    expect(next.trading).toBe(base.trading);
    expect(getAt(base, 'exits.nope.deeper')).toBeUndefined();
  });

  it('lists the changed leaves, comparing lists whole', () => {
    let draft = setAt(base, 'exits.exit_dte', 5);
    draft = setAt(draft, 'trading.universe', ['SPY', 'QQQ', 'IWM']);
    expect(changedPaths(base, draft)).toEqual(['exits.exit_dte', 'trading.universe']);
    expect(changedPaths(base, setAt(base, 'trading.universe', ['SPY', 'QQQ']))).toEqual([]);
    expect(changedPaths(base, setAt(draft, 'exits.exit_dte', 7))).toEqual(['trading.universe']);
  });

  it('compares values deeply', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toBe(false);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
  });
});
