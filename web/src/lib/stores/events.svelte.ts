// Recent events: the history from `GET /events`, then live over the
// WebSocket. A dropped stream reconnects by itself with `?after=<last seq>`
// so nothing is missed or shown twice.

import { recentEvents, streamUrl, type EngineEvent } from '../api/events';
import { trimEvents } from '../../routes/dashboard/event-filter';

/** Events kept in memory: the newest KEEP of the telling kinds, and of the routine ones (signal.none) ROUTINE_KEEP. */
const KEEP = 1000;
const ROUTINE_KEEP = 200;

export type StreamState = 'connecting' | 'live' | 'retrying' | 'stopped';

/** Whether a stream message is an event (`seq`, `at`, `message`, `kind`, `data`), as the server's document types it. */
export function isEvent(v: unknown): v is EngineEvent {
  if (typeof v !== 'object' || v === null) return false;
  return (
    'seq' in v &&
    typeof v.seq === 'number' &&
    'kind' in v &&
    typeof v.kind === 'string' &&
    'at' in v &&
    typeof v.at === 'string' &&
    'message' in v &&
    typeof v.message === 'string' &&
    'data' in v
  );
}

class EventFeed {
  /** Newest first. */
  events = $state<EngineEvent[]>([]);
  stream = $state<StreamState>('stopped');
  /** Events the stream could not deliver because this client fell behind. */
  missed = $state(0);
  #lastSeq: number | null = null;
  #socket: WebSocket | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #attempt = 0;
  /** Bumped by stop(), so a start() still awaiting its history does not connect afterwards. */
  #run = 0;
  #listeners = new Set<(e: EngineEvent) => void>();

  /** Calls `f` for every live event; returns the unsubscribe function. */
  onEvent(f: (e: EngineEvent) => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  async start(): Promise<void> {
    this.stop();
    const run = this.#run;
    this.stream = 'connecting';
    try {
      const history = await recentEvents();
      for (const e of history) this.#add(e, false);
    } catch {
      // The stream below retries; the history comes with it (`after` stays null).
    }
    if (run === this.#run) this.#connect();
  }

  stop(): void {
    this.#run += 1;
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    const socket = this.#socket;
    this.#socket = null;
    socket?.close();
    this.stream = 'stopped';
  }

  #add(e: EngineEvent, live: boolean): void {
    const seq = e.seq ?? 0;
    if (this.#lastSeq !== null && seq <= this.#lastSeq) return;
    this.#lastSeq = seq;
    this.events = trimEvents([e, ...this.events], KEEP, ROUTINE_KEEP);
    if (live) for (const f of this.#listeners) f(e);
  }

  #connect(): void {
    const run = this.#run;
    streamUrl(this.#lastSeq).then(
      (url) => {
        if (run === this.#run) this.#open(url);
      },
      () => {
        if (run === this.#run) this.#retryLater();
      },
    );
  }

  #retryLater(): void {
    this.stream = 'retrying';
    const delay = Math.min(10_000, 500 * 2 ** this.#attempt);
    this.#attempt += 1;
    this.#retry = setTimeout(() => this.#connect(), delay);
  }

  #open(url: string): void {
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.onopen = () => {
      this.#attempt = 0;
      this.stream = 'live';
    };
    socket.onmessage = (m: MessageEvent) => {
      if (typeof m.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(m.data);
      } catch {
        return;
      }
      if (isEvent(parsed)) this.#add(parsed, true);
      else if (typeof parsed === 'object' && parsed !== null && 'missed' in parsed && typeof parsed.missed === 'number') {
        this.missed += parsed.missed;
      }
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#retryLater();
    };
  }
}

export const feed = new EventFeed();
