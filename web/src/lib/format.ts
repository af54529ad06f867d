// How numbers and money are shown across the views (times: time.ts).

/** A number with `digits` decimals, or an em dash for nothing. */
export function fixed(v: number | string | null | undefined, digits = 2): string {
  if (v === null || v === undefined || v === '') return '—';
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n.toFixed(digits) : String(v);
}

/** A fraction as a percentage: 0.553 -> "55.3%". */
export function percent(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`;
}

/** Dollars with a sign and thousands separators: "+1,234.50", "-40.00". */
export function usd(v: number | string | null | undefined): string {
  if (v === null || v === undefined || v === '') return '—';
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return String(v);
  const abs = Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${n > 0 ? '+' : n < 0 ? '-' : ''}${abs}`;
}

/** The tone of a P&L value: 'ok' when positive, 'bad' when negative. */
export function toneOf(v: number | string | null | undefined): '' | 'ok' | 'bad' {
  const n = typeof v === 'number' ? v : Number(v ?? 0);
  return n > 0 ? 'ok' : n < 0 ? 'bad' : '';
}

/** A spread's kind as people say it: bull_call -> "bull call". */
export function kindLabel(kind: string | null | undefined): string {
  return (kind ?? '').replace(/_/gu, ' ');
}

/** Strikes as "480/485". */
export function strikes(long: number | string, short: number | string): string {
  return `${Number(long)}/${Number(short)}`;
}
