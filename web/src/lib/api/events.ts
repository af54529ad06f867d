// `GET /events` (history) and the `/ws` live stream.
import { api, unwrap, type Schemas } from './client';

/** One event: `kind` is the tag that says which `data` it carries. */
export type EngineEvent = Schemas['Event'];

/** The most recent events (up to the server's largest page, 1000; oldest first). */
export async function recentEvents(): Promise<EngineEvent[]> {
  return unwrap(await api.GET('/events', { params: { query: { limit: 1000 } } }));
}

/**
 * The WebSocket address of the event stream. Browsers cannot set headers on
 * a WebSocket, and a long-lived token in a URL ends up in logs; so each
 * connection first asks for a single-use ticket (valid 30 s) with the token
 * in the Authorization header, and puts only that in the address.
 */
export async function streamUrl(after: number | null): Promise<string> {
  const { ticket } = unwrap(await api.POST('/ws/ticket'));
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams({ ticket });
  if (after !== null) query.set('after', String(after));
  return `${scheme}//${location.host}/api/v1/ws?${query.toString()}`;
}
