import { describe, expect, it } from 'vitest';
import { age, marketText, showTime, timeText } from './time';

describe('times with their clock and zone', () => {
  it('shows engine times as New York market time, winter and summer', () => {
    expect(timeText('2026-11-23T15:04:05Z', 'engine')).toBe('11-23 10:04 ET');
    expect(timeText('2026-07-01T14:00:30Z', 'engine', 'time')).toBe('10:00:30 ET');
    expect(timeText('2026-11-24T02:00:00Z', 'engine', 'date')).toBe('2026-11-23 ET');
    expect(timeText('2026-11-24T02:00:09Z', 'engine', 'full')).toBe('2026-11-23 21:00:09 ET');
    const t = showTime('2026-11-23T15:04:05Z', 'engine');
    expect(t.iso).toBe('2026-11-23T15:04:05.000Z');
    expect(t.note).toContain('Engine clock');
    expect(t.note).toContain('New York');
  });

  it("shows wall times in the browser's zone, named", () => {
    expect(timeText('2026-11-23T15:04:05Z', 'wall', 'datetime', 'UTC')).toBe('11-23 15:04 UTC');
    const berlin = showTime('2026-11-23T15:04:05Z', 'wall', 'time', 'Europe/Berlin');
    expect(berlin.text).toBe('16:04:05');
    expect(berlin.zone).toMatch(/GMT\+1|CET/u);
    expect(berlin.note).toContain('Wall clock');
  });

  it('gives back text that is not a time, with no zone', () => {
    expect(timeText('soon', 'engine')).toBe('soon');
    expect(timeText(null, 'wall')).toBe('');
    expect(showTime('soon', 'engine').iso).toBeNull();
  });

  it('labels chart axes in market time and says how old a time is', () => {
    expect(marketText(Date.parse('2026-11-23T15:04:05Z'))).toBe('11-23 10:04');
    const now = Date.parse('2026-11-23T15:00:00Z');
    expect(age('2026-11-23T14:59:15Z', now)).toBe('45 s');
    expect(age('2026-11-23T14:48:00Z', now)).toBe('12 min');
    expect(age('2026-11-23T13:25:00Z', now)).toBe('1.6 h');
    expect(age('2026-11-23T10:00:00Z', now)).toBe('5.0 h');
    expect(age('2026-11-20T15:00:00Z', now)).toBe('3 d');
    expect(age('x', now)).toBe('');
  });
});
