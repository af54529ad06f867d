// `/control...`: pause, resume, kill switch.
import { api, unwrap, type Schemas } from './client';

export type ControlReport = Schemas['ControlReport'];
export type KillSwitchReport = Schemas['KillSwitchReport'];

/** Pauses at once: no new decision; working orders go on. */
export async function pause(): Promise<ControlReport> {
  return unwrap(await api.POST('/control/pause'));
}

export async function resume(): Promise<ControlReport> {
  return unwrap(await api.POST('/control/resume'));
}

/** Engages or releases the kill switch: at once, then recorded in the config file. */
export async function setKillSwitch(engaged: boolean): Promise<KillSwitchReport> {
  return unwrap(await api.POST('/control/kill-switch', { body: { engaged } }));
}
