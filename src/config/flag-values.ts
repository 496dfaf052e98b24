import { ConfigError } from './config-error.js';
import { durationForm, formatDuration, parseDuration } from './duration.js';
import type { FlagSpec } from './flags.js';
import { isHost, isHostPort } from './network-names.js';
import { parseSize } from './size.js';

/*
 * One parser per flag kind. Each throws a ConfigError whose message is the problem alone
 * (`"12xb" is not a size (use …)`); parse-flags.ts puts the flag or variable name in front.
 */

/** What a value of this flag looks like, for "missing value" messages and `--help`. */
export function formOf(spec: FlagSpec): string {
  switch (spec.kind) {
    case 'int':
      return `a whole number from ${spec.min ?? 0} to ${spec.max ?? Number.MAX_SAFE_INTEGER}`;
    case 'size':
      return 'bytes or a number with kb, mb or gb';
    case 'duration':
      return durationForm;
    case 'duration-list':
      return `comma-separated durations, each ${durationForm}`;
    case 'string':
      return 'a non-empty text';
    case 'host':
      return 'an IP address or host name';
    case 'host-port':
      return 'HOST:PORT, e.g. signet.example:443';
    case 'url':
      return `a URL starting with ${(spec.protocols ?? []).map((p) => `${p}//`).join(' or ')}`;
    case 'list':
      return `comma-separated items, each ${spec.item?.form ?? 'a non-empty text'}`;
    case 'choice':
      return `one of ${(spec.choices ?? []).join(', ')}`;
    case 'boolean':
      return 'true or false';
  }
}

/** The typed value of `raw` for this flag; `raw` is non-empty (parse-flags.ts handles empty). */
export function parseFlagValue(spec: FlagSpec, raw: string): unknown {
  switch (spec.kind) {
    case 'int':
      return parseWholeNumber(spec, raw);
    case 'size':
      return parseSize(raw) ?? invalid(`${quote(raw)} is not a size (use ${formOf(spec)})`);
    case 'duration':
      return parseBoundedDuration(spec, raw);
    case 'duration-list':
      return parseDurationList(spec, raw);
    case 'string':
      return raw;
    case 'host':
      return isHost(raw) ? raw : invalid(`${quote(raw)} is not ${formOf(spec)}`);
    case 'host-port':
      return isHostPort(raw) ? raw : invalid(`${quote(raw)} is not ${formOf(spec)}`);
    case 'url':
      return parseUrl(spec, raw);
    case 'list':
      return parseList(spec, raw);
    case 'choice':
      return spec.choices?.includes(raw) ? raw : invalid(`${quote(raw)} is not ${formOf(spec)}`);
    case 'boolean':
      return parseBoolean(raw);
  }
}

function parseWholeNumber(spec: FlagSpec, raw: string): number {
  if (!/^\d+$/.test(raw.trim())) return invalid(`${quote(raw)} is not ${formOf(spec)}`);
  const value = Number(raw);
  if (value < (spec.min ?? 0) || value > (spec.max ?? Number.MAX_SAFE_INTEGER)) {
    return invalid(`${quote(raw)} is out of range (use ${formOf(spec)})`);
  }
  return value;
}

function parseBoundedDuration(spec: FlagSpec, raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined) return invalid(`${quote(raw)} is not a duration (use ${durationForm})`);
  if (spec.min !== undefined && ms < spec.min) {
    return invalid(`${quote(raw)} is too short (use at least ${formatDuration(spec.min)})`);
  }
  if (spec.max !== undefined && ms > spec.max) {
    return invalid(`${quote(raw)} is too long (use at most ${formatDuration(spec.max)})`);
  }
  return ms;
}

function parseDurationList(spec: FlagSpec, raw: string): number[] {
  return raw.split(',').map((item) => {
    const ms = parseDuration(item);
    if (ms === undefined) {
      return invalid(`${quote(item.trim())} in ${quote(raw)} is not a duration (use ${formOf(spec)})`);
    }
    return ms;
  });
}

/**
 * URLs may carry a password (postgres://user:pass@…, smtp://…), so errors never echo them:
 * the message goes to logs and terminals.
 */
function parseUrl(spec: FlagSpec, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return invalid(`not a URL (use ${formOf(spec)})`);
  }
  if (!(spec.protocols ?? []).includes(url.protocol)) {
    return invalid(`${quote(url.protocol)} URLs are not supported (use ${formOf(spec)})`);
  }
  return raw;
}

function parseList(spec: FlagSpec, raw: string): string[] {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.map(
    (item) => (spec.item ? spec.item.parse(item) : item) ?? invalid(`${quote(item)} is not ${spec.item?.form}`),
  );
}

function parseBoolean(raw: string): boolean {
  const lower = raw.trim().toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  return invalid(`${quote(raw)} is not true or false`);
}

function invalid(problem: string): never {
  throw new ConfigError(problem);
}

/** JSON quoting keeps the message on one line whatever the value holds. */
function quote(text: string): string {
  return JSON.stringify(text);
}
