// Desktop mode: this same UI inside the vspread desktop app (Tauri), which
// loads it from the engine's admin server. Detected at run time by Tauri's
// IPC object; in a browser nothing here runs. In the app it:
// - signs in with the token the app holds (never typed by hand in Local mode),
// - forwards every live engine event to the app (native notifications),
// - forwards the polled status to the app (the tray's state),
// - carries out the tray's Pause / Resume / Kill switch through this
//   window's admin session, exactly as the Controls buttons do.

import { pause, resume, setKillSwitch } from '../api/control';
import { session } from '../session.svelte';
import { feed } from '../stores/events.svelte';
import { status } from '../stores/status.svelte';

interface TauriIpc {
  invoke(cmd: string, args?: Record<string, unknown>): Promise<unknown>;
}

export type TrayAction = 'pause' | 'resume' | 'kill';

declare global {
  interface Window {
    __TAURI_INTERNALS__?: TauriIpc;
    __vspreadDesktop?: { trayAction(action: TrayAction): Promise<void> };
  }
}

/** How long to wait for the app's answer before showing the token prompt instead. */
const SESSION_WAIT_MS = 3000;

function isSession(v: unknown): v is { token: string; local: boolean } {
  return typeof v === 'object' && v !== null && 'token' in v && typeof v.token === 'string';
}

async function runTrayAction(action: TrayAction): Promise<void> {
  if (action === 'pause') await pause();
  else if (action === 'resume') await resume();
  else await setKillSwitch(true);
  await status.refresh();
}

/** Connects this page to the desktop app, if it runs in one; resolves true then. */
export async function startDesktop(): Promise<boolean> {
  const ipc = window.__TAURI_INTERNALS__;
  if (!ipc) return false;
  document.documentElement.dataset.desktop = 'true';
  const answer = await Promise.race([
    ipc.invoke('desktop_session').catch(() => null),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), SESSION_WAIT_MS)),
  ]);
  if (isSession(answer)) session.login(answer.token);

  feed.onEvent((event) => {
    void ipc.invoke('engine_event', { event }).catch(() => undefined);
  });
  $effect.root(() => {
    $effect(() => {
      const current = status.current;
      const error = status.error;
      if (current === null && error === null) return;
      const body = error !== null ? { error } : current;
      void ipc.invoke('engine_status', { status: body }).catch(() => undefined);
    });
  });
  window.__vspreadDesktop = { trayAction: runTrayAction };
  return true;
}
