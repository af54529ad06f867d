import { describe, expect, it } from 'vitest';
import { EVERYTHING, filterFromParams, filterToParams, kindCounts, matcher, NOT_ROUTINE, trimEvents } from './event-filter';

const events = [
  { kind: 'signal.none', message: 'SPY: no signal', data: { symbol: 'SPY' } },
  { kind: 'order.filled', message: 'vs-1-e1 filled 1 at 2.10', data: { order_ref: 'vs-1-e1', underlying: 'QQQ' } },
  { kind: 'order.placed', message: 'vs-1-e1 placed', data: { order_ref: 'vs-1-e1' } },
  { kind: 'config.applied', message: '1 key changed', data: { who: 'admin' } },
  { kind: 'signal.fired', message: 'QQQ high_base', data: null },
];

function kinds(kind: string, text = ''): string[] {
  return events.filter(matcher({ kind, text })).map((e) => e.kind);
}

describe('the events filter', () => {
  it('leaves the routine kinds out by default, and can show everything', () => {
    expect(kinds(NOT_ROUTINE)).toEqual(['order.filled', 'order.placed', 'config.applied', 'signal.fired']);
    expect(kinds(EVERYTHING)).toHaveLength(5);
  });

  it('matches a family or one exact kind', () => {
    expect(kinds('order')).toEqual(['order.filled', 'order.placed']);
    expect(kinds('order.filled')).toEqual(['order.filled']);
    expect(kinds('signal')).toEqual(['signal.none', 'signal.fired']);
    expect(kinds('ord')).toEqual([]);
  });

  it('matches text in the kind, the message and the data, ignoring case', () => {
    expect(kinds(EVERYTHING, 'qqq')).toEqual(['order.filled', 'signal.fired']);
    expect(kinds(NOT_ROUTINE, 'ADMIN')).toEqual(['config.applied']);
    expect(kinds('order', 'placed')).toEqual(['order.placed']);
    expect(kinds(EVERYTHING, '  ')).toHaveLength(5);
  });

  it('round-trips through the URL, defaults left out, other parameters kept', () => {
    expect(filterFromParams(new URLSearchParams(''))).toEqual({ kind: NOT_ROUTINE, text: '' });
    expect(filterFromParams(new URLSearchParams('kind=order&q=SPY'))).toEqual({ kind: 'order', text: 'SPY' });
    expect(filterToParams({ kind: NOT_ROUTINE, text: '' }).toString()).toBe('');
    expect(filterToParams({ kind: 'order.filled', text: 'vs-1' }, new URLSearchParams('x=1')).toString()).toBe('x=1&kind=order.filled&q=vs-1');
    expect(filterToParams({ kind: EVERYTHING, text: ' ' }, new URLSearchParams('q=old')).toString()).toBe('kind=all');
  });

  it('counts families and kinds for the choices', () => {
    expect(kindCounts(events)).toEqual([
      { family: 'config', count: 1, kinds: [{ kind: 'config.applied', count: 1 }] },
      { family: 'order', count: 2, kinds: [{ kind: 'order.filled', count: 1 }, { kind: 'order.placed', count: 1 }] },
      { family: 'signal', count: 2, kinds: [{ kind: 'signal.fired', count: 1 }, { kind: 'signal.none', count: 1 }] },
    ]);
  });

  it('keeps the newest of each, so routine events do not push the others out', () => {
    const many = [...Array.from({ length: 10 }, () => events[0]!), events[1]!, ...Array.from({ length: 10 }, () => events[0]!), events[3]!];
    const kept = trimEvents(many, 5, 3);
    expect(kept.map((e) => e.kind)).toEqual(['signal.none', 'signal.none', 'signal.none', 'order.filled', 'config.applied']);
    expect(trimEvents(events, 1, 0).map((e) => e.kind)).toEqual(['order.filled']);
  });
});
