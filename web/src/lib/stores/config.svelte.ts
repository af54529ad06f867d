// The configuration workflow: the config in force (with its version), the
// operator's draft, the errors found while typing or by the server, the
// dry-run diff, and the result of the last apply or rollback.

import { ApiError } from '../api/client';
import {
  applyConfig,
  configHistory,
  diffConfig,
  getConfig,
  getSchema,
  listBackups,
  rollback as rollbackTo,
  type ApplyReport,
  type Backup,
  type Config,
  type HistoryEntry,
  type KeyChange,
  type VersionedConfig,
} from '../api/config';
import { configErrorsOf, describeConfigError, fieldPathOf } from '../api/config-errors';
import { fieldIndex, type JsonSchema } from '../config-form/schema';
import { changedPaths, setAt } from '../config-form/values';

export interface Notice {
  tone: 'error' | 'warning' | 'info';
  text: string;
  /** A 412: the config changed elsewhere; the draft must be reloaded. */
  stale?: boolean;
}

export interface Outcome {
  what: 'applied' | 'rolled back';
  report: ApplyReport;
}

class ConfigStore {
  schema = $state.raw<JsonSchema | null>(null);
  /** The config in force and its version (the ETag). */
  base = $state.raw<VersionedConfig | null>(null);
  draft = $state.raw<Config | null>(null);
  /** Errors of what is being typed, by field path (checked against the schema as you type). */
  inputErrors = $state<Record<string, string>>({});
  /** Errors the server reported for the draft (422), by field path. */
  serverErrors = $state<Record<string, string[]>>({});
  /** Server errors with no field in the form (cross-key rules on the whole document...). */
  otherErrors = $state<string[]>([]);
  /** The dry-run diff being reviewed before Apply; null when not reviewing. */
  review = $state.raw<KeyChange[] | null>(null);
  outcome = $state.raw<Outcome | null>(null);
  backups = $state.raw<Backup[]>([]);
  /** Applies, rollbacks and control actions (from the journal), newest first. */
  history = $state.raw<HistoryEntry[]>([]);
  /** What is being done now, for the progress shown while it runs. */
  running = $state<'apply' | 'rollback' | null>(null);
  /**
   * An apply or rollback the server is still running after the request
   * timed out (its pause waits for the decision cycle in flight): the page
   * follows the config version and reloads when it changes.
   */
  slowApply = $state(false);
  notice = $state<Notice | null>(null);
  busy = $state(false);
  /** Bumped when the draft is replaced wholesale, so inputs re-read their values. */
  epoch = $state(0);

  pending = $derived(this.base && this.draft ? changedPaths(this.base.config, this.draft) : []);
  hasErrors = $derived(Object.keys(this.inputErrors).length > 0);

  async load(): Promise<void> {
    try {
      const [schema, base, backups] = await Promise.all([this.schema ?? getSchema(), getConfig(), listBackups()]);
      this.schema = schema;
      this.#replace(base);
      this.backups = backups;
    } catch (e) {
      this.notice = { tone: 'error', text: `Could not load the config: ${messageOf(e)}` };
    }
    await this.refreshHistory();
  }

  async refreshHistory(): Promise<void> {
    try {
      this.history = await configHistory();
    } catch {
      // The history is a convenience; the status bar shows a server that does not answer.
    }
  }

  /** Takes a newer config in force when there is nothing pending; otherwise says it changed. */
  async followVersion(version: string): Promise<void> {
    if (this.base === null || this.base.version === version || this.busy) return;
    if (this.slowApply) {
      this.slowApply = false;
      await this.reload();
      this.notice = { tone: 'info', text: 'The apply finished on the server after the request timed out; the change history shows its interruption.' };
    } else if (this.pending.length === 0 && !this.hasErrors) {
      await this.reload();
    } else {
      this.notice = { tone: 'warning', text: 'The config changed elsewhere. Reload to edit the version in force (your pending changes will be dropped).', stale: true };
    }
  }

  async reload(): Promise<void> {
    this.notice = null;
    this.outcome = null;
    await this.load();
  }

  #replace(base: VersionedConfig): void {
    this.base = base;
    this.draft = base.config;
    this.inputErrors = {};
    this.serverErrors = {};
    this.otherErrors = [];
    this.review = null;
    this.epoch += 1;
  }

  set(path: string, value: unknown): void {
    if (this.draft === null) return;
    this.draft = setAt(this.draft, path, value);
    this.review = null;
    if (path in this.serverErrors) {
      const { [path]: _dropped, ...rest } = this.serverErrors;
      void _dropped;
      this.serverErrors = rest;
    }
  }

  setInputError(path: string, message: string | null): void {
    if (message === null) {
      if (path in this.inputErrors) delete this.inputErrors[path];
    } else if (this.inputErrors[path] !== message) {
      this.inputErrors[path] = message;
    }
  }

  discard(): void {
    if (this.base) this.#replace(this.base);
    this.notice = null;
  }

  /** Asks the server which keys the draft changes (a dry run), to show before Apply. */
  async startReview(): Promise<void> {
    if (this.draft === null || this.hasErrors) return;
    this.outcome = null;
    await this.#run(async (draft) => {
      this.review = await diffConfig(draft);
    });
  }

  cancelReview(): void {
    this.review = null;
  }

  async apply(): Promise<void> {
    const base = this.base;
    if (base === null || this.hasErrors) return;
    this.running = 'apply';
    await this.#run(async (draft) => {
      const report = await applyConfig(draft, base.version);
      this.outcome = { what: 'applied', report };
      await this.#refreshAfterChange();
    });
  }

  async rollback(id: string): Promise<void> {
    this.running = 'rollback';
    await this.#run(async () => {
      const report = await rollbackTo(id);
      this.outcome = { what: 'rolled back', report };
      await this.#refreshAfterChange();
    });
  }

  async refreshBackups(): Promise<void> {
    try {
      this.backups = await listBackups();
    } catch (e) {
      this.notice = { tone: 'error', text: `Could not list the backups: ${messageOf(e)}` };
    }
  }

  async #refreshAfterChange(): Promise<void> {
    const [base, backups] = await Promise.all([getConfig(), listBackups()]);
    this.#replace(base);
    this.backups = backups;
    await this.refreshHistory();
  }

  async #run(step: (draft: Config) => Promise<void>): Promise<void> {
    if (this.draft === null) return;
    this.busy = true;
    this.notice = null;
    try {
      await step(this.draft);
    } catch (e) {
      this.#failed(e);
    } finally {
      this.busy = false;
      this.running = null;
    }
  }

  #failed(e: unknown): void {
    this.review = null;
    if (e instanceof ApiError && e.status === 408 && this.running !== null) {
      this.slowApply = true;
      this.notice = {
        tone: 'info',
        text: 'Still applying: the server stopped waiting for an answer (HTTP 408), but the engine is waiting for the decision cycle in flight to finish before it swaps the config in. This page follows when the new version is in force.',
      };
    } else if (e instanceof ApiError && e.status === 412) {
      this.notice = { tone: 'warning', text: 'The config was changed elsewhere since you loaded it; nothing was applied. Reload, then make your changes again.', stale: true };
    } else if (e instanceof ApiError && e.status === 422) {
      const errors = configErrorsOf(e.details);
      const byField: Record<string, string[]> = {};
      const other: string[] = [];
      const fields = this.schema ? fieldIndex(this.schema) : new Map<string, unknown>();
      for (const err of errors) {
        const path = fieldPathOf(err.path);
        if (fields.has(path)) (byField[path] ??= []).push(describeConfigError(err));
        else other.push(describeConfigError(err));
      }
      this.serverErrors = byField;
      this.otherErrors = other;
      this.notice = { tone: 'error', text: `${e.message}. The fields in error are marked.` };
    } else {
      this.notice = { tone: 'error', text: messageOf(e) };
    }
  }
}

function messageOf(e: unknown): string {
  if (e instanceof ApiError) return `${e.message} (HTTP ${e.status})`;
  if (e instanceof Error) return e.message;
  return String(e);
}

export const configStore = new ConfigStore();
