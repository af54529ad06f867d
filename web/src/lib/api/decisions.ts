// What each decision cycle saw and decided per symbol: `/decisions`.
import { api, unwrap, type Schemas } from './client';
import { tabOf } from '../config-form/tabs';

export type Decisions = Schemas['Decisions'];
export type DecisionRecord = Decisions['decisions'][number];

/** The newest `limit` decisions, on `symbol` if given, newest first. */
export async function decisions(symbol: string | null, limit = 100): Promise<Decisions> {
  return unwrap(await api.GET('/decisions', { params: { query: symbol === null ? { limit } : { symbol, limit } } }));
}

/** The Config view at `key` (its tab, the field scrolled to and marked). */
export function configHref(key: string): string {
  return `/config/${tabOf(key).id}?key=${encodeURIComponent(key)}`;
}

/** A refusal's numbers: every field of the rule but its name, message and key. */
export function refusalNumbers(refusal: object): [string, string][] {
  return Object.entries(refusal)
    .filter(([k]) => k !== 'rule' && k !== 'message' && k !== 'key')
    .map(([k, v]) => [k.replace(/_/gu, ' '), typeof v === 'number' ? String(Number(v.toFixed(4))) : String(v)]);
}

/** `params` with `symbol` set, or removed for every symbol (''). */
export function withSymbol(params: URLSearchParams, symbol: string): URLSearchParams {
  const p = new URLSearchParams(params);
  if (symbol === '') p.delete('symbol');
  else p.set('symbol', symbol);
  return p;
}
