// The server's status, polled every few seconds and refreshed at once when
// an event says something changed (pause, resume, apply, reload).

import { ApiError } from '../api/client';
import { getStatus, type Status } from '../api/status';

class StatusStore {
  current = $state<Status | null>(null);
  /** Why the last poll failed (the server is down, ...); null when it answered. */
  error = $state<string | null>(null);
  #timer: ReturnType<typeof setInterval> | null = null;

  async refresh(): Promise<void> {
    try {
      this.current = await getStatus();
      this.error = null;
    } catch (e) {
      this.error = e instanceof ApiError ? e.message : 'the server does not answer';
    }
  }

  start(intervalMs = 3000): void {
    this.stop();
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}

export const status = new StatusStore();
