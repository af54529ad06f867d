import { describe, expect, it } from 'vitest';
import { fixed, kindLabel, percent, strikes, toneOf, usd } from './format';

describe('formatting', () => {
  it('formats numbers, percentages and money', () => {
    expect(fixed(2.1)).toBe('2.10');
    expect(fixed('2.1', 1)).toBe('2.1');
    expect(fixed(null)).toBe('—');
    expect(percent(0.553)).toBe('55.3%');
    expect(usd('-1234.5')).toBe('-1,234.50');
    expect(usd(40)).toBe('+40.00');
    expect(usd('0.00')).toBe('0.00');
    expect(usd(null)).toBe('—');
    expect(toneOf('-0.01')).toBe('bad');
    expect(toneOf(3)).toBe('ok');
    expect(toneOf(null)).toBe('');
  });
  it('formats kinds and strikes', () => {
    expect(kindLabel('bull_call')).toBe('bull call');
    expect(strikes('480.0', '485')).toBe('480/485');
  });
});
