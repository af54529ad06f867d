import { describe, expect, it } from 'vitest';
import { configErrorsOf, describeConfigError, fieldPathOf } from './config-errors';

describe("the server's config errors", () => {
  it('reads the errors of a 422 and says where each is', () => {
    const details = {
      errors: [
        { path: 'scanner.dte_min', kind: 'rule', value: '60', message: 'must not exceed scanner.dte_max', allowed: null, location: null },
        { path: 'trading.universe[1]', kind: 'format', value: '"spy"', message: 'wrong shape', allowed: 'a symbol', location: { line: 12, column: 5 } },
        { nonsense: true },
      ],
    };
    const errors = configErrorsOf(details);
    expect(errors).toHaveLength(2);
    expect(describeConfigError(errors[0]!)).toBe('scanner.dte_min = 60: must not exceed scanner.dte_max');
    expect(describeConfigError(errors[1]!)).toBe('trading.universe[1] = "spy": wrong shape (allowed: a symbol) at line 12:5');
    expect(configErrorsOf(null)).toEqual([]);
    expect(configErrorsOf({ errors: 'x' })).toEqual([]);
  });

  it('maps list item errors onto the list field', () => {
    expect(fieldPathOf('trading.universe[2]')).toBe('trading.universe');
    expect(fieldPathOf('notify.targets[1].secret_env')).toBe('notify.targets');
    expect(fieldPathOf('exits.exit_dte')).toBe('exits.exit_dte');
  });
});
