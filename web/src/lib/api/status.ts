// `GET /status`: what the status bar shows.
import { api, unwrap, type Schemas } from './client';

export type Status = Schemas['Status'];

export async function getStatus(): Promise<Status> {
  return unwrap(await api.GET('/status'));
}
