import { describe, expect, it } from 'vitest';
import { configSchema } from './fixture';
import { fieldIndex, type Field } from './schema';
import { describeAllowed, formatInput, formatNumber, parseInput, problemOf, splitList, validateField } from './validate';

const fields = fieldIndex(configSchema);
function field(path: string): Field {
  const f = fields.get(path);
  if (!f) throw new Error(`no field ${path} in the schema`);
  return f;
}

describe('validation as you type', () => {
  it('names the key path and the allowed range for a number out of bounds', () => {
    const f = field('exits.stop_loss_atr_mult');
    expect(validateField(f, 1.5)).toBeNull();
    expect(validateField(f, 0)).toBe('exits.stop_loss_atr_mult: 0 is out of range; allowed: a number from 0.1 to 20 ATR');
    expect(validateField(f, 20.5)).toContain('out of range');
    expect(validateField(f, 0.1)).toBeNull();
    expect(validateField(f, 20)).toBeNull();
  });

  it('refuses text that is not a number, naming the field', () => {
    const parsed = parseInput(field('exits.stop_loss_atr_mult'), '1.5x');
    expect(parsed).toEqual({ ok: false, error: 'exits.stop_loss_atr_mult: "1.5x" is not a number; allowed: a number from 0.1 to 20 ATR' });
    expect(parseInput(field('exits.stop_loss_atr_mult'), ' 1.25 ')).toEqual({ ok: true, value: 1.25 });
    expect(parseInput(field('exits.stop_loss_atr_mult'), '').ok).toBe(false);
  });

  it('wants whole numbers for integers', () => {
    const f = field('exits.exit_dte');
    expect(parseInput(f, '3.5').ok).toBe(false);
    expect(parseInput(f, '7')).toEqual({ ok: true, value: 7 });
    expect(validateField(f, 3.5)).toContain('not an integer');
    expect(validateField(f, 366)).toBe('exits.exit_dte: 366 is out of range; allowed: an integer from 0 to 365 days');
  });

  it('checks each table of a list of tables key by key', () => {
    const f = field('notify.targets');
    const good = { name: 'ops', format: 'slack', secret_env: 'SLACK_URL', secret_file: '', chat_id: '', telegram_api: 'https://api.telegram.org', events: ['fills'] };
    expect(validateField(f, [good])).toBeNull();
    expect(validateField(f, [{ ...good, name: 'Ops Room' }])).toContain('notify.targets: item name: "Ops Room" has the wrong shape');
    expect(validateField(f, [{ ...good, format: 'pager' }])).toContain('item format: "pager" is not allowed');
    expect(validateField(f, [{ ...good, events: ['fills', 'fills'] }])).toContain('item events: "fills" is repeated');
  });

  it('checks symbol lists item by item, and for repeats and emptiness', () => {
    const f = field('trading.universe');
    expect(validateField(f, ['SPY', 'QQQ'])).toBeNull();
    expect(validateField(f, ['SPY', 'spy'])).toContain('item "spy" has the wrong shape');
    expect(validateField(f, ['SPY', 'SPY'])).toContain('"SPY" is repeated');
    expect(validateField(f, [])).toContain('must not be empty');
    expect(parseInput(f, 'SPY, QQQ  IWM,')).toEqual({ ok: true, value: ['SPY', 'QQQ', 'IWM'] });
  });

  it('checks choice lists against their choices', () => {
    const f = field('scanner.kinds');
    expect(validateField(f, ['bull_put'])).toBeNull();
    expect(validateField(f, [])).toContain('scanner.kinds: must not be empty');
    expect(validateField(f, ['iron_condor'])).toContain('"iron_condor" is not allowed');
  });

  it('checks patterned strings and enums', () => {
    const start = field('trading_schedule.start_time_utc');
    expect(validateField(start, '13:30')).toBeNull();
    expect(validateField(start, '25:00')).toContain('has the wrong shape');
    const mode = field('trading.mode');
    expect(validateField(mode, 'live')).toBeNull();
    expect(validateField(mode, 'demo')).toBe('trading.mode: "demo" is not allowed; allowed: one of paper, live');
  });

  it('describes exclusive and one-sided bounds', () => {
    expect(describeAllowed({ type: 'number', exclusiveMinimum: 0 })).toBe('a number > 0');
    expect(describeAllowed({ type: 'integer', minimum: 1, 'x-unit': 'lines' })).toBe('an integer >= 1 lines');
    expect(problemOf({ type: 'number', exclusiveMinimum: 0 }, 0)).toBe('0 is out of range');
    expect(problemOf({ type: 'number', exclusiveMaximum: 1 }, 0.5)).toBeNull();
  });

  it('shows numbers without float noise and lists as text', () => {
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(86400)).toBe('86400');
    expect(formatInput(field('trading.universe'), ['SPY', 'QQQ'])).toBe('SPY, QQQ');
    expect(splitList('  ')).toEqual([]);
  });
});
