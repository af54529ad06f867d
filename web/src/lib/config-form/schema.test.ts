import { describe, expect, it } from 'vitest';
import { configSchema } from './fixture';
import { choicesOf, docPieces, fieldIndex, fieldOf, firstSentence, groupsOf, humanise, newItem, schemaAt } from './schema';
import { TABS, tabOf, unplacedSections } from './tabs';

describe('schema → form fields', () => {
  it('turns the exits section into one group of typed fields with units and bounds', () => {
    const exits = schemaAt(configSchema, 'exits');
    expect(exits).toBeDefined();
    const groups = groupsOf('exits', exits ?? {});
    expect(groups.map((g) => g.path)).toEqual(['exits']);
    const [stop, target, dte] = groups[0]?.fields ?? [];
    expect(stop).toMatchObject({ path: 'exits.stop_loss_atr_mult', key: 'stop_loss_atr_mult', kind: 'number', unit: 'ATR' });
    expect(stop?.schema.minimum).toBe(0.1);
    expect(target).toMatchObject({ kind: 'number', unit: '%' });
    expect(dte).toMatchObject({ path: 'exits.exit_dte', kind: 'integer', unit: 'days' });
  });

  it('gives nested objects their own groups, depth first', () => {
    const groups = groupsOf('strategies', schemaAt(configSchema, 'strategies') ?? {});
    expect(groups.map((g) => g.path)).toEqual(['strategies.high_base', 'strategies.low_base']);
    expect(groups[0]?.fields.find((f) => f.key === 'enabled')?.kind).toBe('boolean');
  });

  it('picks widgets by type: enum select, choice lists, text lists, patterned strings', () => {
    const index = fieldIndex(configSchema);
    expect(index.get('ibkr.market_data_type')?.kind).toBe('enum');
    expect(index.get('ibkr.market_data_type')?.choices?.map((c) => c.value)).toEqual(['live', 'frozen', 'delayed', 'delayed_frozen']);
    expect(index.get('scanner.kinds')?.kind).toBe('choice-list');
    expect(index.get('trading_schedule.days')?.choices?.map((c) => c.value)).toContain('fri');
    expect(index.get('trading.universe')?.kind).toBe('text-list');
    expect(index.get('trading.universe')?.item?.pattern).toBeDefined();
    expect(index.get('trading_schedule.start_time_utc')).toMatchObject({ kind: 'string', unit: 'HH:MM UTC' });
    expect(index.get('trading.mode')?.kind).toBe('enum');
  });

  it('reads documented enums written as oneOf of consts', () => {
    const choices = choicesOf({ oneOf: [{ const: 'json', description: 'one object per line' }, { const: 'text' }] });
    expect(choices).toEqual([{ value: 'json', description: 'one object per line' }, { value: 'text', description: undefined }]);
    expect(fieldOf('logging.format', { oneOf: [{ const: 'json' }, { const: 'text' }] }).kind).toBe('enum');
  });

  it('places every section of the schema in exactly one tab', () => {
    const sections = Object.keys(configSchema.properties ?? {});
    expect(unplacedSections(sections)).toEqual([]);
    for (const tab of TABS) for (const s of tab.sections) expect(sections).toContain(s);
    const placed = TABS.flatMap((t) => t.sections);
    expect(new Set(placed).size).toBe(placed.length);
    expect(tabOf('trading_schedule.days').label).toBe('Schedule');
    expect(tabOf('pacing.max_messages_per_sec').label).toBe('System');
  });

  it('labels each key in words, with its doc as help and how it takes effect', () => {
    const index = fieldIndex(configSchema);
    expect(index.get('exits.stop_loss_atr_mult')).toMatchObject({
      label: 'Stop loss ATR multiplier',
      help: 'Close when the underlying moves this many ATRs against the position from entry.',
      apply: 'live',
    });
    // A unit the schema states is not repeated in the label.
    expect(index.get('trading.scan_interval_s')).toMatchObject({ label: 'Scan interval', unit: 's' });
    expect(index.get('execution.max_slippage_pct')).toMatchObject({ label: 'Max slippage', unit: '%' });
    expect(index.get('trading.mode')).toMatchObject({ label: 'Mode', help: 'Paper or live account.', apply: 'restart' });
    expect(index.get('trading.mode')?.more).toMatch(/^Read at start/u);
    expect(index.get('ibkr.port')?.apply).toBe('reconnect');
    expect(index.get('scanner.min_pop')?.label).toBe('Min POP');
    expect(groupsOf('strategies', schemaAt(configSchema, 'strategies') ?? {})[0]?.label).toBe('High base');
    // Every key has a label and an apply class.
    for (const f of index.values()) {
      expect(f.label, f.path).toMatch(/^[A-Z]/u);
      expect(['live', 'reconnect', 'restart'], f.path).toContain(f.apply);
    }
  });

  it('humanises key names and splits a doc at its first sentence', () => {
    expect(humanise('max_iv_resume', 'fraction')).toBe('Max IV resume');
    expect(humanise('reset_guard_minutes', 'min')).toBe('Reset guard');
    expect(humanise('reset_guard_minutes')).toBe('Reset guard minutes');
    expect(humanise('s', 's')).toBe('S');
    expect(fieldOf('a.b', { title: 'Given title' }).label).toBe('Given title');
    expect(firstSentence('Risk per trade as a share (1.0 = 1%). Capped.\n  More here.')).toEqual({ first: 'Risk per trade as a share (1.0 = 1%).', rest: 'Capped. More here.' });
    expect(firstSentence('One, e.g. This stays.')).toEqual({ first: 'One, e.g. This stays.' });
    expect(firstSentence(undefined)).toEqual({});
    expect(docPieces('Read at start, with `--live`: never.')).toEqual([
      { text: 'Read at start, with ', code: false },
      { text: '--live', code: true },
      { text: ': never.', code: false },
    ]);
  });

  it('indexes every leaf with its path', () => {
    const index = fieldIndex(configSchema);
    expect(index.get('exits.stop_loss_atr_mult')?.key).toBe('stop_loss_atr_mult');
    expect(index.get('strategies.low_base.max_rsi')?.kind).toBe('number');
    expect(index.has('exits')).toBe(false);
  });

  it('makes a list of tables one table-list field whose new item takes the schema defaults', () => {
    const index = fieldIndex(configSchema);
    const targets = index.get('notify.targets');
    expect(targets?.kind).toBe('table-list');
    expect(Object.keys(targets?.item?.properties ?? {})).toEqual(['name', 'format', 'secret_env', 'secret_file', 'chat_id', 'telegram_api', 'events']);
    const item = newItem(targets?.item ?? {});
    expect(item).toMatchObject({ name: '', format: 'json', secret_env: '', telegram_api: 'https://api.telegram.org' });
    expect(item.events).toEqual(['fills', 'exits', 'refusals', 'gateway', 'kill_switch', 'applies']);
    expect(index.get('notify.queue_capacity')?.kind).toBe('integer');
    expect(tabOf('notify.targets').label).toBe('Notifications');
  });
});
