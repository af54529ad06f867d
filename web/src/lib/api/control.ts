// `/control...`: pause, resume, kill switch.
import { api, unwrap, type Schemas } from './client';

/** Pause and resume answer with an undocumented body: only success matters (the status shows the state). */
function expectOk(result: { response: Response; error?: unknown }): void {
  if (!result.response.ok) unwrap({ error: result.error, response: result.response });
}

export async function pause(): Promise<void> {
  expectOk(await api.POST('/control/pause'));
}

export async function resume(): Promise<void> {
  expectOk(await api.POST('/control/resume'));
}

export async function setKillSwitch(engaged: boolean): Promise<Schemas['ApplyReport']> {
  return unwrap(await api.POST('/control/kill-switch', { body: { engaged } }));
}
