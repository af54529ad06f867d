// The engine's trading views (scans, positions, orders, trades), kept fresh
// two ways: the event stream says which view changed (a scan completed, an
// order ended, a trade closed) and that view is fetched again at once; a slow
// poll catches what no event announces (a position's marks move every cycle).
import { ApiError } from '../api/client';
import { addSample, money, type OpenSample } from '../chart/pnl';
import { addMark, type MarkSample } from '../chart/marks';
import type { EngineEvent } from '../api/events';
import {
  latestScans,
  orders as getOrders,
  positions as getPositions,
  trades as getTrades,
  type LatestScans,
  type Orders,
  type Positions,
  type Trades,
} from '../api/trading';

export type Resource = 'scans' | 'positions' | 'orders' | 'trades';

/** The views an event makes stale, by its kind (the tag of the typed event). */
export function staleAfter(kind: EngineEvent['kind']): Resource[] {
  switch (kind) {
    case 'scan.completed':
    case 'scan.watched':
      return ['scans'];
    case 'order.placed':
    case 'order.walked':
    case 'order.filled':
    case 'order.ended':
    case 'order.failed':
    case 'order.cancel_requested':
      return ['orders', 'positions'];
    case 'position.opened':
    case 'position.mismatch':
    case 'exit.triggered':
    case 'exit.failed':
      return ['positions', 'orders'];
    case 'trade.closed':
      return ['trades', 'positions'];
    case 'decision.entry':
    case 'manual.entry':
      return ['orders'];
    case 'manual.close':
      return ['orders', 'positions'];
    default:
      return [];
  }
}

/** How often each view is polled when no event says it changed (ms). */
const POLL: Record<Resource, number> = { scans: 5000, positions: 2000, orders: 4000, trades: 10_000 };
/** The least time between two fetches of one view (ms): a burst of events is one fetch. */
const MIN_GAP = 300;

const SAMPLES_KEY = 'vspread.open-pnl';

function isSample(v: unknown): v is OpenSample {
  return typeof v === 'object' && v !== null && 't' in v && typeof v.t === 'number' && 'open' in v && typeof v.open === 'number' && 'held' in v && typeof v.held === 'number';
}

function storedSamples(): OpenSample[] {
  try {
    const parsed: unknown = JSON.parse(sessionStorage.getItem(SAMPLES_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter(isSample) : [];
  } catch {
    return [];
  }
}

function messageOf(e: unknown): string {
  if (e instanceof ApiError) return `${e.message} (HTTP ${e.status})`;
  return e instanceof Error ? e.message : String(e);
}

class TradingStore {
  scans = $state.raw<LatestScans | null>(null);
  positions = $state.raw<Positions | null>(null);
  orders = $state.raw<Orders | null>(null);
  trades = $state.raw<Trades | null>(null);
  /** The last failure of each view's fetch; cleared when it answers. */
  errors = $state<Partial<Record<Resource, string>>>({});
  /** When each view was last fetched (ms since the epoch). */
  fetchedAt = $state<Partial<Record<Resource, number>>>({});
  /**
   * The open P&L at each decision cycle seen since this tab started
   * (positions carry their cycle's time): the Dashboard's equity over time.
   * Kept in session storage, so a reload keeps the curve.
   */
  openPnl = $state.raw<OpenSample[]>(storedSamples());

  /**
   * Each held spread's mark and open P&L at every cycle this tab saw, by its
   * entry_ref (the Positions view's chart since entry). Memory only; a
   * spread no longer held is dropped.
   */
  marks = $state.raw<Record<string, MarkSample[]>>({});

  #timers: ReturnType<typeof setInterval>[] = [];
  #pending = new Map<Resource, ReturnType<typeof setTimeout>>();
  #last = new Map<Resource, number>();
  #inFlight = new Set<Resource>();

  start(): void {
    this.stop();
    for (const r of Object.keys(POLL) as Resource[]) {
      void this.refresh(r);
      this.#timers.push(setInterval(() => void this.refresh(r), POLL[r]));
    }
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    for (const t of this.#pending.values()) clearTimeout(t);
    this.#pending.clear();
  }

  /** Fetches the views `event` makes stale (at most one fetch per view per MIN_GAP). */
  onEvent(event: EngineEvent): void {
    for (const r of staleAfter(event.kind)) this.soon(r);
  }

  soon(r: Resource): void {
    if (this.#pending.has(r)) return;
    const wait = Math.max(0, MIN_GAP - (Date.now() - (this.#last.get(r) ?? 0)));
    this.#pending.set(
      r,
      setTimeout(() => {
        this.#pending.delete(r);
        void this.refresh(r);
      }, wait),
    );
  }

  #sampleMarks(p: Positions): void {
    const next: Record<string, MarkSample[]> = {};
    for (const pos of p.positions) {
      const prev = this.marks[pos.entry_ref] ?? [];
      const t = pos.marked_at ? Date.parse(pos.marked_at) : Number.NaN;
      next[pos.entry_ref] = pos.mark === null || pos.unrealised_pnl === null ? prev : addMark(prev, { t, mark: Number(pos.mark), pnl: Number(pos.unrealised_pnl) });
    }
    this.marks = next;
  }

  #sample(p: Positions): void {
    this.#sampleMarks(p);
    const t = p.updated_at ? Date.parse(p.updated_at) : Number.NaN;
    if (!Number.isFinite(t)) return;
    this.openPnl = addSample(this.openPnl, { t, open: money(p.unrealised), held: p.positions.length });
    try {
      sessionStorage.setItem(SAMPLES_KEY, JSON.stringify(this.openPnl));
    } catch {
      // Storage full or refused: the curve is kept in memory only.
    }
  }

  async refresh(r: Resource): Promise<void> {
    if (this.#inFlight.has(r)) return;
    this.#inFlight.add(r);
    this.#last.set(r, Date.now());
    try {
      switch (r) {
        case 'scans':
          this.scans = await latestScans();
          break;
        case 'positions':
          this.positions = await getPositions();
          this.#sample(this.positions);
          break;
        case 'orders':
          this.orders = await getOrders();
          break;
        case 'trades':
          this.trades = await getTrades();
          break;
      }
      if (r in this.errors) delete this.errors[r];
      this.fetchedAt[r] = Date.now();
    } catch (e) {
      this.errors[r] = messageOf(e);
    } finally {
      this.#inFlight.delete(r);
    }
  }
}

export const trading = new TradingStore();
