// How the trading went: `/kpis?days=N`, the journal's figures with each
// of the plan's targets, computed by the engine as `vspread report` does.
import { api, unwrap, type Schemas } from './client';

export type Kpis = Schemas['Kpis'];
export type TargetCheck = Kpis['targets'][number];

/** The KPIs of the last `days` days of the engine's clock, or of everything the journal holds. */
export async function kpis(days: number | null): Promise<Kpis> {
  return unwrap(await api.GET('/kpis', { params: { query: days === null ? {} : { days } } }));
}
