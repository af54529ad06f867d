// Saves the running admin server's OpenAPI document to src/lib/api/openapi.json
// (from which `npm run api:types` generates src/lib/api/schema.d.ts).
//   VSPREAD_API=http://127.0.0.1:8080 VSPREAD_TOKEN=... node scripts/refresh-openapi.mjs
// VSPREAD_TOKEN_FILE may name the token file instead.
import { readFileSync, writeFileSync } from 'node:fs';

const api = process.env.VSPREAD_API ?? 'http://127.0.0.1:8080';
const tokenFile = process.env.VSPREAD_TOKEN_FILE;
const token = process.env.VSPREAD_TOKEN ?? (tokenFile ? readFileSync(tokenFile, 'utf8').trim() : undefined);
if (!token) {
  console.error('set VSPREAD_TOKEN (or VSPREAD_TOKEN_FILE) to the admin token of the server at ' + api);
  process.exit(2);
}
const response = await fetch(`${api}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${token}` } });
if (!response.ok) {
  console.error(`GET ${api}/api/v1/openapi.json: HTTP ${response.status}`);
  process.exit(1);
}
const doc = await response.json();
const out = new URL('../src/lib/api/openapi.json', import.meta.url);
writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
console.log(`saved ${out.pathname}`);
