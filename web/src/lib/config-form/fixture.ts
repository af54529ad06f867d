// The real config schema, from the saved OpenAPI document, for the unit tests.
import openapi from '../api/openapi.json';
import type { JsonSchema } from './schema';

export const configSchema: JsonSchema = openapi.components.schemas.Config;
