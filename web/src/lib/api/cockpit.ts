// The trader's cockpit: a spread previewed (`POST /preview`), placed by hand
// (`POST /orders`), a held spread closed by hand
// (`POST /positions/{spread_ref}/close`), and an underlying's daily bars
// (`GET /symbols/{symbol}/bars`) for the position chart.
import { api, unwrap, type Schemas } from './client';
import type { ScanRow } from './trading';

export type OrderTicket = Schemas['OrderTicket'];
export type PreviewReport = Schemas['PreviewReport'];
export type ManualPlaced = Schemas['ManualPlaced'];
export type ManualClosing = Schemas['ManualClosing'];
export type Bars = Schemas['Bars'];
export type Refusal = PreviewReport['gate']['refusals'][number];

/** The kinds a ticket names. */
const KINDS = ['bear_call', 'bear_put', 'bull_call', 'bull_put'] as const;
type Kind = (typeof KINDS)[number];

function isKind(k: string): k is Kind {
  return (KINDS as readonly string[]).includes(k);
}

/**
 * The ticket for a scanned spread. Strikes go as the scan printed them
 * (decimal strings: the server reads them exactly); a kind the API does not
 * know is an error, not a guess.
 */
export function ticketOf(row: ScanRow, quantity: number): OrderTicket {
  if (!isKind(row.kind)) throw new Error(`unknown spread kind ${row.kind}`);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1000) throw new Error(`quantity must be a whole number from 1 to 1000 (got ${quantity})`);
  return {
    symbol: row.underlying,
    kind: row.kind,
    expiry: row.expiry,
    long_strike: String(row.long_strike),
    short_strike: String(row.short_strike),
    quantity,
    limit: null,
  };
}

/** Everything about the spread before it is sent (read-only tokens may preview). */
export async function preview(ticket: OrderTicket): Promise<PreviewReport> {
  return unwrap(await api.POST('/preview', { body: ticket }));
}

/** Places the spread by hand (202): follow its `order_ref` in `/orders` and on the event stream. */
export async function placeOrder(ticket: OrderTicket): Promise<ManualPlaced> {
  return unwrap(await api.POST('/orders', { body: ticket }));
}

/** Closes all of a held spread with a walked order at the configured walk (202). */
export async function closePosition(spreadRef: string): Promise<ManualClosing> {
  return unwrap(await api.POST('/positions/{spread_ref}/close', { params: { path: { spread_ref: spreadRef } }, body: { limit: null } }));
}

/** The underlying's daily bars, oldest first. */
export async function bars(symbol: string, days = 60): Promise<Bars> {
  return unwrap(await api.GET('/symbols/{symbol}/bars', { params: { path: { symbol }, query: { days } } }));
}

/** A net price as people say it: "1.25 debit". */
export function netText(p: { side: string; amount: string } | null | undefined): string {
  return p ? `${p.amount} ${p.side}` : '—';
}
