// `GET /events` (history) and the `/ws` live stream.
import { session } from '../session.svelte';
import { api, unwrap, type Schemas } from './client';

/** One event: `kind` is the tag that says which `data` it carries. */
export type EngineEvent = Schemas['Event'];

/** The most recent events (up to the server's largest page, 1000; oldest first). */
export async function recentEvents(): Promise<EngineEvent[]> {
  return unwrap(await api.GET('/events', { params: { query: { limit: 1000 } } }));
}

/** The WebSocket address of the event stream (browsers cannot set headers, so the token goes in the query). */
export function streamUrl(after: number | null): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams({ access_token: session.token ?? '' });
  if (after !== null) query.set('after', String(after));
  return `${scheme}//${location.host}/api/v1/ws?${query.toString()}`;
}
