import os from 'node:os';
import { parseHostOrCidr } from './network-names.js';

/**
 * The flags of `signet serve`, as data: parsing (parse-flags.ts), `--help` and the typed
 * ServeConfig all read this one table, so a flag cannot be documented but unparsed or the reverse.
 */

/** What a flag's value is; each kind has one parser and one expected form (flag-values.ts). */
export type FlagKind =
  | 'int'
  | 'size'
  | 'duration'
  | 'duration-list'
  | 'string'
  | 'host'
  | 'host-port'
  | 'url'
  | 'list'
  | 'choice'
  | 'boolean';

/** Reads an already resolved flag; computed defaults use it (`--server.host.port` follows `--port`). */
export type ResolvedFlag = (name: string) => unknown;

export interface FlagSpec {
  /** As typed after the dashes: `server.host.port`. */
  readonly name: string;
  /** The environment twin: SIGNET_ + the name in upper case with `.` and `-` as `_`. */
  readonly env: string;
  readonly kind: FlagKind;
  /**
   * Text as an operator would type it, parsed like any other value so defaults obey the same
   * rules; a function when it depends on the machine or on an earlier flag. Absent: optional.
   */
  readonly default?: string | ((resolved: ResolvedFlag) => string);
  /** How `--help` shows a computed default. */
  readonly defaultHelp?: string;
  /** One line, shown by `--help`. */
  readonly description: string;
  /** Bounds of an `int`, or of a `duration` in milliseconds. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of a `choice`. */
  readonly choices?: readonly string[];
  /** Allowed schemes of a `url`, with their colon: `https:`. */
  readonly protocols?: readonly string[];
  /** How a `list` item is read: normalized text, or undefined when the item is invalid. */
  readonly item?: { readonly parse: (text: string) => string | undefined; readonly form: string };
}

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export const defaultWebhookRetrySchedule = '0s,5s,5m,30m,2h,5h,10h,14h,20h,24h';

export const serveFlags: readonly FlagSpec[] = [
  {
    name: 'port',
    env: 'SIGNET_PORT',
    kind: 'int',
    default: '8080',
    min: 0,
    max: 65535,
    description: 'TCP port to listen on (0 picks a free one)',
  },
  {
    name: 'host',
    env: 'SIGNET_HOST',
    kind: 'host',
    default: '0.0.0.0',
    description: 'address to bind (0.0.0.0 is every IPv4 interface, :: every interface)',
  },
  {
    name: 'server.host.port',
    env: 'SIGNET_SERVER_HOST_PORT',
    kind: 'host-port',
    default: (resolved) => `${os.hostname()}:${resolved('port')}`,
    defaultHelp: '<hostname>:<port>',
    description: 'HOST:PORT this instance advertises (the "host" of async answers, links without --public-url)',
  },
  {
    name: 'work-folder',
    env: 'SIGNET_WORK_FOLDER',
    kind: 'string',
    default: './work',
    description: 'folder for client-services-config.json, keys, the embedded database, content and mail outbox',
  },
  {
    name: 'database-url',
    env: 'SIGNET_DATABASE_URL',
    kind: 'url',
    protocols: ['postgres:', 'postgresql:'],
    description: 'PostgreSQL to share between instances; absent: embedded SQLite in the work folder',
  },
  {
    name: 'tsa-url',
    env: 'SIGNET_TSA_URL',
    kind: 'list',
    item: { parse: parseTsaUrl, form: 'an http:// or https:// URL (credentials as https://user:env:NAME@host/…)' },
    description: 'RFC 3161 time-stamping authorities, comma-separated, tried in order; absent: the built-in one',
  },
  {
    name: 'smtp-url',
    env: 'SIGNET_SMTP_URL',
    kind: 'url',
    protocols: ['smtp:', 'smtps:'],
    description: 'mail server, smtp://user:pass@host:port; absent: .eml files in the work folder outbox',
  },
  {
    name: 'max-body-size',
    env: 'SIGNET_MAX_BODY_SIZE',
    kind: 'size',
    default: '512mb',
    description: 'largest request body: bytes, or a number with kb, mb or gb (1024-based)',
  },
  {
    name: 'max-inline-content',
    env: 'SIGNET_MAX_INLINE_CONTENT',
    kind: 'size',
    default: '256mb',
    description:
      "largest total of signed bytes a Sign'Stash answer carries inline as base64 (returnSignedContent, …/contentInResponse/true); " +
      'more: 413, fetch the …/documents ZIP instead',
  },
  {
    name: 'max-verifications',
    env: 'SIGNET_MAX_VERIFICATIONS',
    kind: 'int',
    default: '8',
    min: 1,
    max: 1000,
    description: 'POST /v1/verify requests handled at once (each holds its upload, up to 100 MB, in memory); more: 503 verification_busy',
  },
  {
    name: 'max-documents',
    env: 'SIGNET_MAX_DOCUMENTS',
    kind: 'int',
    default: '2500',
    min: 1,
    max: 1_000_000,
    description: 'documents per signature operation',
  },
  {
    name: 'outbound-allow',
    env: 'SIGNET_OUTBOUND_ALLOW',
    kind: 'list',
    default: '',
    item: { parse: parseHostOrCidr, form: 'a host, IP address or CIDR (e.g. 127.0.0.1, 10.0.0.0/8, hooks.internal)' },
    description: 'comma-separated hosts or CIDRs that captures and callbacks may reach although loopback/private',
  },
  {
    name: 'capture-browser',
    env: 'SIGNET_CAPTURE_BROWSER',
    kind: 'string',
    description: 'Chromium executable (e.g. /usr/bin/chromium): URL registrations also render a full-page PDF and PNG; absent: raw capture only',
  },
  {
    name: 'trust-anchors',
    env: 'SIGNET_TRUST_ANCHORS',
    kind: 'list',
    default: '',
    item: { parse: (text) => text, form: 'a certificate file (PEM or DER) or a folder of them' },
    description:
      'comma-separated certificate files (PEM or DER) or folders of them that POST /v1/verify trusts besides this service\'s own roots (relative paths: in the work folder)',
  },
  {
    name: 'trust-list',
    env: 'SIGNET_TRUST_LIST',
    kind: 'list',
    default: '',
    item: { parse: (text) => text, form: 'a trusted list file (relative: in the work folder) or an http(s) URL' },
    description: 'ETSI TS 119 612 trusted lists (the EU list of lists or national lists) whose CA/QC services anchor signatures and TSA services time-stamps in POST /v1/verify',
  },
  {
    name: 'trust-list-signers',
    env: 'SIGNET_TRUST_LIST_SIGNERS',
    kind: 'list',
    default: '',
    item: { parse: (text) => text, form: 'a certificate file (PEM or DER)' },
    description: 'the certificates a --trust-list must be signed with (e.g. those the EU Official Journal publishes for the list of lists)',
  },
  {
    name: 'trust-list-refresh',
    env: 'SIGNET_TRUST_LIST_REFRESH',
    kind: 'duration',
    default: '6h',
    min: 1000,
    description: 'how often the --trust-list lists are read again (a list that no longer verifies keeps the previous anchors, with a warning)',
  },
  {
    name: 'verify-offline',
    env: 'SIGNET_VERIFY_OFFLINE',
    kind: 'boolean',
    default: 'false',
    description: 'POST /v1/verify judges with the revocation data documents embed only: never asks OCSP responders or CRL distribution points',
  },
  {
    name: 'webhook-retry-schedule',
    env: 'SIGNET_WEBHOOK_RETRY_SCHEDULE',
    kind: 'duration-list',
    default: defaultWebhookRetrySchedule,
    description: 'comma-separated delays before each webhook delivery attempt (units ms, s, m, h, d)',
  },
  {
    name: 'webhook-timeout',
    env: 'SIGNET_WEBHOOK_TIMEOUT',
    kind: 'duration',
    default: '10s',
    min: 100,
    description: 'how long one webhook attempt may take (connect and answer) before it counts as failed',
  },
  {
    name: 'workers',
    env: 'SIGNET_WORKERS',
    kind: 'int',
    default: () => String(os.availableParallelism()),
    defaultHelp: 'the CPU count',
    min: 0,
    max: 1024,
    description: 'signature tasks (and, apart, URL captures) this instance runs at once (0: answer the API only and leave all the work to other instances)',
  },
  {
    name: 'registration-workers',
    env: 'SIGNET_REGISTRATION_WORKERS',
    kind: 'int',
    default: '32',
    min: 1,
    max: 1024,
    description: 'file registration tasks this instance runs at once; they mostly wait on the TSA and the store (none with --workers=0)',
  },
  {
    name: 'token-ttl',
    env: 'SIGNET_TOKEN_TTL',
    kind: 'duration',
    default: '24h',
    min: 1000,
    description: 'lifetime of access tokens (a bare number is seconds)',
  },
  {
    name: 'log-level',
    env: 'SIGNET_LOG_LEVEL',
    kind: 'choice',
    default: 'info',
    choices: logLevels,
    description: `least severe log level written: ${logLevels.join('|')}`,
  },
  {
    name: 'lease-time',
    env: 'SIGNET_LEASE_TIME',
    kind: 'duration',
    default: '30s',
    min: 1000,
    description: 'how long a claimed task stays with a worker without a heartbeat before another may take it',
  },
  {
    name: 'retention',
    env: 'SIGNET_RETENTION',
    kind: 'duration',
    min: 1000,
    defaultHelp: 'for ever',
    description:
      'how long finished signature operations keep their documents and signed outputs (e.g. 90d); then the bytes are deleted, the records stay (documents purged). Registrations are never purged',
  },
  {
    name: 'hot-folder',
    env: 'SIGNET_HOT_FOLDER',
    kind: 'boolean',
    default: 'false',
    description: 'true: sign what is dropped in the hot folders of the client services whose configuration has "hotFolder" (API.md §12)',
  },
  {
    name: 'hot-folder-settle',
    env: 'SIGNET_HOT_FOLDER_SETTLE',
    kind: 'duration',
    default: '2s',
    min: 100,
    description: 'how long a file in a hot folder must keep its size and time before it is taken (a file still being written is left)',
  },
  {
    name: 'public-url',
    env: 'SIGNET_PUBLIC_URL',
    kind: 'url',
    protocols: ['http:', 'https:'],
    description: 'base URL for links in answers, webhooks and mails (e.g. https://signet.example)',
  },
];

/** The environment twin of a flag name: `server.host.port` → `SIGNET_SERVER_HOST_PORT`. */
export function envNameOf(flagName: string): string {
  return `SIGNET_${flagName.toUpperCase().replace(/[.-]/g, '_')}`;
}

/**
 * An external TSA's address. HTTP Basic credentials go in the URL's user part, the password as a
 * secret reference (`https://alice:env:TSA_PASSWORD@tsa.example/` or `file:/run/secrets/tsa`), resolved
 * at start, so the flag itself holds no secret.
 */
function parseTsaUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? text : undefined;
  } catch {
    return undefined;
  }
}
