// What the engine sees and does: `/scans/latest`, `/positions`, `/orders`
// (and an operator's cancel), `/trades`.
//
// The OpenAPI document lists these objects' fields without marking them
// required, though the server always sends every one (null where there is
// no value); `Complete` says so, keeping the generated field names and types.
import { api, unwrap, type Schemas } from './client';

/** `T` with every field present (`undefined` removed; `null` kept). */
export type Complete<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

export type ScanRow = Complete<NonNullable<NonNullable<Schemas['LatestScans']['scans'][number]['results']>[number]>>;
export type ScanView = Complete<Omit<Schemas['LatestScans']['scans'][number], 'results'>> & { results: ScanRow[] };
export interface LatestScans {
  scans: ScanView[];
}
export type PositionView = Complete<NonNullable<Schemas['Positions']['positions'][number]>>;
export type Positions = Complete<Omit<Schemas['Positions'], 'positions'>> & { positions: PositionView[] };
export type OrderView = Complete<NonNullable<Schemas['Orders']['orders'][number]>>;
export interface Orders {
  orders: OrderView[];
}
export type TradeView = Complete<NonNullable<Schemas['Trades']['trades'][number]>>;
export type Trades = Complete<Omit<Schemas['Trades'], 'trades'>> & { trades: TradeView[] };

export async function latestScans(): Promise<LatestScans> {
  return unwrap(await api.GET('/scans/latest')) as LatestScans;
}

export async function positions(): Promise<Positions> {
  return unwrap(await api.GET('/positions')) as Positions;
}

/** The newest orders (the server's default page: 500), working and done. */
export async function orders(): Promise<Orders> {
  return unwrap(await api.GET('/orders')) as Orders;
}

/** Asks the engine to cancel one working order it drives (202; 409 when it already ended). */
export async function cancelOrder(orderRef: string): Promise<void> {
  const result = await api.POST('/orders/{order_ref}/cancel', { params: { path: { order_ref: orderRef } } });
  if (!result.response.ok) unwrap({ error: result.error, response: result.response });
}

/** The newest closed spreads (the server's default page) and the realised total. */
export async function trades(): Promise<Trades> {
  return unwrap(await api.GET('/trades')) as Trades;
}
