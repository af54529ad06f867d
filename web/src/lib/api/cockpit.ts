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
export function ticketOf(row: ScanRow, quantity: number, walk: Walk | null = null): OrderTicket {
  if (!isKind(row.kind)) throw new Error(`unknown spread kind ${row.kind}`);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1000) throw new Error(`quantity must be a whole number from 1 to 1000 (got ${quantity})`);
  return {
    symbol: row.underlying,
    kind: row.kind,
    expiry: row.expiry,
    long_strike: String(row.long_strike),
    short_strike: String(row.short_strike),
    quantity,
    limit: walk === null ? null : checkedWalk(walk),
  };
}

/** How an order walks, as an operator sets it; null keeps `[execution]`'s value. */
export interface Walk {
  max_slippage_pct: number | null;
  max_walk_steps: number | null;
}

/** The walk two form fields set: null when both are empty (`[execution]`'s walk). */
export function walkOf(slippage: number | null | undefined, steps: number | null | undefined): Walk | null {
  return (slippage ?? null) === null && (steps ?? null) === null ? null : { max_slippage_pct: slippage ?? null, max_walk_steps: steps ?? null };
}

/** The walk settings of a ticket, each checked against the API's bounds (a clear error, not a 400 later). */
function checkedWalk(w: Walk): NonNullable<OrderTicket['limit']> {
  const pct = w.max_slippage_pct;
  const steps = w.max_walk_steps;
  if (pct !== null && !(Number.isFinite(pct) && pct >= 0 && pct <= 100)) throw new Error(`the walk's max slippage must be 0 to 100 % (got ${pct})`);
  if (steps !== null && !(Number.isInteger(steps) && steps >= 0 && steps <= 50)) throw new Error(`the walk's steps must be a whole number from 0 to 50 (got ${steps})`);
  return { max_slippage_pct: pct, max_walk_steps: steps, walk_interval_s: null, order_timeout_s: null };
}

/** Everything about the spread before it is sent (read-only tokens may preview). */
export async function preview(ticket: OrderTicket): Promise<PreviewReport> {
  return unwrap(await api.POST('/preview', { body: ticket }));
}

/** Places the spread by hand (202): follow its `order_ref` in `/orders` and on the event stream. */
export async function placeOrder(ticket: OrderTicket): Promise<ManualPlaced> {
  return unwrap(await api.POST('/orders', { body: ticket }));
}

/** Closes all of a held spread with a walked order (202): at `walk`, or at the configured walk when null. */
export async function closePosition(spreadRef: string, walk: Walk | null = null): Promise<ManualClosing> {
  const limit = walk === null ? null : checkedWalk(walk);
  return unwrap(await api.POST('/positions/{spread_ref}/close', { params: { path: { spread_ref: spreadRef } }, body: { limit } }));
}

/** The underlying's daily bars, oldest first. */
export async function bars(symbol: string, days = 60): Promise<Bars> {
  return unwrap(await api.GET('/symbols/{symbol}/bars', { params: { path: { symbol }, query: { days } } }));
}

/** A net price as people say it: "1.25 debit". */
export function netText(p: { side: string; amount: string } | null | undefined): string {
  return p ? `${p.amount} ${p.side}` : '—';
}
