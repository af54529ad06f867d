// `/config...`: read (with its version), schema, validate, diff, apply, backups, rollback.
import type { JsonSchema } from '../config-form/schema';
import { api, unwrap, versionOfEtag, ApiError, type Schemas } from './client';

export type Config = Schemas['Config'];
export type ApplyReport = Schemas['ApplyReport'];
export type KeyChange = Schemas['KeyChanges'][number];
export type Backup = Schemas['Backups'][number];

export interface VersionedConfig {
  config: Config;
  /** The ETag: send it back as If-Match when applying. */
  version: string;
}

export async function getConfig(): Promise<VersionedConfig> {
  const result = await api.GET('/config');
  const config = unwrap(result);
  const version = versionOfEtag(result.response.headers.get('ETag'));
  if (version === null) throw new ApiError(result.response.status, undefined);
  return { config, version };
}

/** The JSON Schema the forms are generated from. */
export async function getSchema(): Promise<JsonSchema> {
  const text = unwrap(await api.GET('/config/schema', { parseAs: 'text' }));
  const schema: JsonSchema = JSON.parse(text);
  return schema;
}

/** The keys `config` would change (a dry run; 422 when it is invalid). */
export async function diffConfig(config: Config): Promise<KeyChange[]> {
  return unwrap(await api.POST('/config/diff', { body: config }));
}

/** Applies `config` if the config in force is still `version` (412 otherwise). */
export async function applyConfig(config: Config, version: string): Promise<ApplyReport> {
  return unwrap(await api.PUT('/config', { body: config, headers: { 'If-Match': `"${version}"` } }));
}

export async function listBackups(): Promise<Backup[]> {
  return unwrap(await api.GET('/config/backups'));
}

export async function rollback(id: string): Promise<ApplyReport> {
  return unwrap(await api.POST('/config/rollback', { body: { id } }));
}

export type HistoryEntry = Schemas['ConfigHistory']['entries'][number];

/** Applies, rollbacks and control actions from the journal, newest first. */
export async function configHistory(): Promise<HistoryEntry[]> {
  return unwrap(await api.GET('/config/history')).entries;
}
