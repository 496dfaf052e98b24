import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KeySource } from '../crypto/keys/key-source.js';
import { ConfigError } from './config-error.js';
import { JsonSyntaxError, parseJsonWithLines, type JsonPath } from './json-with-lines.js';

export const signingKeysFileName = 'signing-keys.json';

/**
 * `signing-keys.json` in the work folder names the keys clients may sign with (a client's `keys`
 * in client-services-config.json lists the names it may use) and, optionally, the built-in TSA's key:
 *
 *   { "keys": {
 *       "default": { "type": "pem", "key": "keys/seal.key.pem", "certificate": "keys/seal.cert.pem", "chain": "keys/ca.pem" },
 *       "seal-2":  { "type": "pkcs12", "file": "keys/seal.p12", "password": "env:SEAL_P12_PASSWORD" },
 *       "hsm":     { "type": "pkcs11", "module": "/usr/lib/softhsm/libsofthsm2.so", "token": "signet",
 *                    "pin": "file:keys/hsm.pin", "label": "seal" } },
 *     "tsa": { "type": "pem", "key": "keys/tsa.key.pem", "certificate": "keys/tsa.cert.pem" } }
 *
 * Paths are relative to the work folder. Passwords and PINs are `env:NAME` or `file:PATH` (a literal
 * is accepted but discouraged: the file would then hold a secret). Without this file, the development
 * PKI's keys are used.
 */
export interface SigningKeysConfig {
  keys: Map<string, KeySource>;
  tsa?: KeySource;
}

const fieldsByType: Record<KeySource['type'], { required: string[]; optional: string[]; paths: string[] }> = {
  pem: { required: ['key', 'certificate'], optional: ['chain'], paths: ['key', 'certificate', 'chain'] },
  pkcs12: { required: ['file', 'password'], optional: ['certificate', 'chain'], paths: ['file', 'certificate', 'chain'] },
  pkcs11: { required: ['module', 'token', 'pin', 'label'], optional: ['certificate', 'chain'], paths: ['certificate', 'chain'] },
  csc: { required: ['baseUrl', 'clientId', 'clientSecret', 'credentialId'], optional: ['pin'], paths: [] },
};

/** Reads the file if it exists; undefined when there is none (development PKI). */
export async function readSigningKeysConfig(workFolder: string): Promise<SigningKeysConfig | undefined> {
  const file = path.join(workFolder, signingKeysFileName);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseSigningKeys(text, file, workFolder);
}

export function parseSigningKeys(text: string, fileName: string, workFolder: string): SigningKeysConfig {
  let json;
  try {
    json = parseJsonWithLines(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new ConfigError(`${fileName} line ${error.line} column ${error.column}: ${error.message}`);
  }
  const fail = (at: JsonPath, problem: string): never => {
    throw new ConfigError(`${fileName} line ${json.lineOf(at)}: ${problem}`);
  };
  const root = json.value;
  if (!isObject(root)) return fail([], 'the top level must be an object { "keys": { … }, "tsa"?: { … } }');
  for (const field of Object.keys(root)) if (field !== 'keys' && field !== 'tsa') fail([field], `unknown field "${field}"; allowed: keys, tsa`);
  if (!isObject(root.keys) || Object.keys(root.keys).length === 0) {
    return fail(['keys'], '"keys" must name at least one key, e.g. { "default": { "type": "pem", … } }');
  }
  const keys = new Map<string, KeySource>();
  for (const [name, value] of Object.entries(root.keys)) {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) fail(['keys', name], `key name "${name}" may hold only letters, digits, '.', '_' and '-'`);
    keys.set(name, readSource(value, `keys.${name}`, ['keys', name], fail, workFolder));
  }
  return { keys, ...(root.tsa !== undefined && { tsa: readSource(root.tsa, 'tsa', ['tsa'], fail, workFolder) }) };
}

function readSource(
  value: unknown,
  name: string,
  at: JsonPath,
  fail: (at: JsonPath, problem: string) => never,
  workFolder: string,
): KeySource {
  if (!isObject(value)) return fail(at, `${name} must be an object with a "type" of pem, pkcs12, pkcs11 or csc`);
  const type = value.type;
  if (type !== 'pem' && type !== 'pkcs12' && type !== 'pkcs11' && type !== 'csc') {
    return fail([...at, 'type'], `${name}.type must be "pem", "pkcs12", "pkcs11" or "csc"`);
  }
  const { required, optional, paths } = fieldsByType[type];
  for (const field of Object.keys(value)) {
    if (field !== 'type' && !required.includes(field) && !optional.includes(field)) {
      fail([...at, field], `${name} has unknown field "${field}"; a ${type} key takes ${[...required, ...optional].join(', ')}`);
    }
  }
  const result: Record<string, string> = { type };
  for (const field of [...required, ...optional]) {
    const fieldValue = value[field];
    if (fieldValue === undefined) {
      if (required.includes(field)) fail(at, `${name}.${field} is missing`);
      continue;
    }
    if (typeof fieldValue !== 'string' || fieldValue === '') fail([...at, field], `${name}.${field} must be a non-empty string`);
    result[field] = paths.includes(field) ? path.resolve(workFolder, fieldValue as string) : (fieldValue as string);
  }
  if (type === 'csc') checkCscBaseUrl(result.baseUrl ?? '', (problem) => fail([...at, 'baseUrl'], `${name}.baseUrl ${problem}`));
  return result as unknown as KeySource;
}

/**
 * The client secret, PIN, SAD and token travel to this address, and what it answers becomes the key's
 * certificate: HTTPS, except on this machine's loopback (a local test service or a sidecar).
 */
function checkCscBaseUrl(value: string, fail: (problem: string) => never): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('must be a URL ending before oauth2/token, e.g. https://rssp.example/csc/v2');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || /^127\./.test(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return;
  fail(`must be https (http only on loopback): secrets and the certificate travel over it, not ${url.protocol}//${url.host}`);
}

/** `env:NAME`, `file:PATH` (relative to the work folder) or a literal. */
export async function resolveSecretReference(reference: string, workFolder: string, what: string): Promise<string> {
  if (reference.startsWith('env:')) {
    const value = process.env[reference.slice(4)];
    if (value === undefined) throw new ConfigError(`${what}: environment variable ${reference.slice(4)} is not set`);
    return value;
  }
  if (reference.startsWith('file:')) {
    const file = path.resolve(workFolder, reference.slice(5));
    try {
      return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(`${what}: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  return reference;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
