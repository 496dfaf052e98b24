import { createHash } from 'node:crypto';
import { closestName } from './closest-name.js';
import { ConfigError } from './config-error.js';
import { JsonSyntaxError, parseJsonWithLines, type JsonPath, type LocatedJson } from './json-with-lines.js';
import { isHashedSecret, parseHashedSecret } from './secret-hash.js';

/** One tenant, as `client-services-config.json` declares it (API.md §9). */
export interface ClientService {
  readonly id: string;
  /** As stored: plain (Sign'Stash format) or `$scrypt$…`; check it with `verifySecret`. */
  readonly secret: string;
  /**
   * First 16 hex digits of SHA-256 over the stored secret string. Tokens carry it, so changing a
   * client's secret (or re-hashing it) invalidates the tokens issued before.
   */
  readonly secretFingerprint: string;
  /** Standard Webhooks secrets (`whsec_…`); several during a rotation, none when not configured. */
  readonly webhookSecrets: readonly string[];
  /** Default callback for this client's tasks. */
  readonly callbackUrl?: string;
  /** Signing keys this client may use; absent: only the key named "default". */
  readonly keys?: readonly string[];
  /** The hot-folder mode (API.md §12), started by --hot-folder true. */
  readonly hotFolder?: HotFolderConfig;
}

/** Folders relative to the work folder; `signature` as the API's operation-level options (checked when a file is signed). */
export interface HotFolderConfig {
  readonly input: string;
  readonly backup: string;
  readonly output: string;
  readonly signature: Readonly<Record<string, unknown>>;
}

const fields = ['secret', 'webhookSecret', 'callbackUrl', 'keys', 'hotFolder'];
const hotFolderFields = ['input', 'backup', 'output', 'signature'];
const maxIdLength = 200;

/**
 * The client services of a file's text. Throws a ConfigError naming the file, the line and the
 * field at the first problem; nothing unknown passes, so a typo such as "secrte" is caught here
 * rather than as a mysterious 401 later.
 */
export function parseClientServices(text: string, fileName: string): Map<string, ClientService> {
  const json = readJson(text, fileName);
  const fail = (path: JsonPath, problem: string): never => {
    throw new ConfigError(`${fileName} line ${json.lineOf(path)}: ${problem}`);
  };
  if (!isObject(json.value)) {
    return fail([], 'the top level must be an object of client services, e.g. { "demo": { "secret": "…" } }');
  }
  const clients = new Map<string, ClientService>();
  for (const [id, entry] of Object.entries(json.value)) {
    checkId(id, (problem) => fail([id], problem));
    clients.set(id, readClient(id, entry, (field, problem) => fail([id, ...field], problem)));
  }
  return clients;
}

function readJson(text: string, fileName: string): LocatedJson {
  try {
    return parseJsonWithLines(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new ConfigError(`${fileName} line ${error.line} column ${error.column}: ${error.message}`, { cause: error });
  }
}

/** Ids travel in HTTP Basic as `id:secret`, so ':' would split them wrongly; control characters break logs. */
function checkId(id: string, fail: (problem: string) => never): void {
  const shown = JSON.stringify(id);
  if (id === '') fail('a client id must not be empty');
  if (id.length > maxIdLength) fail(`client id ${shown.slice(0, 40)}… is longer than ${maxIdLength} characters`);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(id)) fail(`client id ${shown} must not contain control characters`);
  if (id.includes(':')) fail(`client id ${shown} must not contain ':' (it separates id and secret in HTTP Basic)`);
}

type FieldFailure = (field: JsonPath, problem: string) => never;

function readClient(id: string, entry: unknown, fail: FieldFailure): ClientService {
  const name = JSON.stringify(id);
  if (!isObject(entry)) return fail([], `${name} must be an object such as { "secret": "…" }`);
  checkUnknownFields(name, entry, fail);
  const secret = readSecret(name, entry.secret, fail);
  return Object.freeze({
    id,
    secret,
    secretFingerprint: createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16),
    webhookSecrets: Object.freeze(readWebhookSecrets(name, entry.webhookSecret, fail)),
    ...(entry.callbackUrl === undefined ? {} : { callbackUrl: readCallbackUrl(name, entry.callbackUrl, fail) }),
    ...(entry.keys === undefined ? {} : { keys: Object.freeze(readKeys(name, entry.keys, fail)) }),
    ...(entry.hotFolder === undefined ? {} : { hotFolder: readHotFolder(name, entry.hotFolder, fail) }),
  });
}

function readHotFolder(name: string, value: unknown, fail: FieldFailure): HotFolderConfig {
  if (!isObject(value)) return fail(['hotFolder'], `${name}.hotFolder must be an object { "input": …, "backup": …, "output": …, "signature"?: { … } }`);
  for (const field of Object.keys(value)) {
    if (!hotFolderFields.includes(field)) fail(['hotFolder', field], `${name}.hotFolder has unknown field "${field}"; allowed: ${hotFolderFields.join(', ')}`);
  }
  const folder = (field: 'input' | 'backup' | 'output'): string => {
    const path = value[field];
    if (typeof path !== 'string' || path.trim() === '') return fail(['hotFolder', field], `${name}.hotFolder.${field} must be a folder path (relative to the work folder)`);
    return path;
  };
  const folders = { input: folder('input'), backup: folder('backup'), output: folder('output') };
  if (new Set(Object.values(folders)).size !== 3) fail(['hotFolder'], `${name}.hotFolder: input, backup and output must be three different folders`);
  const signature = value.signature ?? {};
  if (!isObject(signature)) return fail(['hotFolder', 'signature'], `${name}.hotFolder.signature must be an object of signature options (API.md §3)`);
  return Object.freeze({ ...folders, signature: Object.freeze({ ...signature }) });
}

function checkUnknownFields(name: string, entry: Record<string, unknown>, fail: FieldFailure): void {
  const unknown = Object.keys(entry).filter((field) => !fields.includes(field));
  if (unknown.length === 0) return;
  const hint = closestName(unknown[0], fields);
  const listed = unknown.map((field) => JSON.stringify(field)).join(', ');
  fail(
    [unknown[0]],
    `${name} has unknown field${unknown.length > 1 ? 's' : ''} ${listed}` +
      (hint === undefined ? '' : ` (did you mean "${hint}"?)`) +
      `; allowed: ${fields.join(', ')}`,
  );
}

function readSecret(name: string, secret: unknown, fail: FieldFailure): string {
  if (secret === undefined) fail([], `${name}.secret is missing`);
  if (typeof secret !== 'string' || secret === '') return fail(['secret'], `${name}.secret must be a non-empty string`);
  if (isHashedSecret(secret) && parseHashedSecret(secret) === undefined) {
    fail(['secret'], `${name}.secret looks like a $scrypt$ hash but is malformed (make one with signet hash-secret)`);
  }
  return secret;
}

function readWebhookSecrets(name: string, value: unknown, fail: FieldFailure): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) fail(['webhookSecret'], `${name}.webhookSecret must not be an empty list`);
  return list.map((secret, index) => {
    const path = Array.isArray(value) ? ['webhookSecret', index] : ['webhookSecret'];
    const field = Array.isArray(value) ? `webhookSecret[${index}]` : 'webhookSecret';
    if (typeof secret !== 'string' || !isWebhookSecret(secret)) {
      fail(path, `${name}.${field} must be "whsec_" followed by base64 (Standard Webhooks)`);
    }
    return secret as string;
  });
}

function isWebhookSecret(text: string): boolean {
  const base64 = text.slice('whsec_'.length);
  if (!text.startsWith('whsec_') || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return false;
  // Buffer's decoder skips what it cannot read; a round trip shows whether anything was skipped.
  return Buffer.from(base64, 'base64').toString('base64').replace(/=+$/, '') === base64.replace(/=+$/, '');
}

function readCallbackUrl(name: string, value: unknown, fail: FieldFailure): string {
  const problem = `${name}.callbackUrl must be an absolute http(s) URL`;
  if (typeof value !== 'string') return fail(['callbackUrl'], problem);
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // reported below
  }
  return fail(['callbackUrl'], problem);
}

function readKeys(name: string, value: unknown, fail: FieldFailure): string[] {
  if (!Array.isArray(value)) return fail(['keys'], `${name}.keys must be a list of key names, e.g. ["default"]`);
  return value.map((key, index) => {
    if (typeof key !== 'string' || key === '') fail(['keys', index], `${name}.keys[${index}] must be a non-empty string`);
    return key as string;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
