import path from 'node:path';
import { serveFlags, type FlagSpec, type LogLevel } from './flags.js';
import { resolveFlags } from './parse-flags.js';

/** Everything `signet serve` is told, typed: sizes in bytes, durations in milliseconds. */
export interface ServeConfig {
  readonly port: number;
  /** Bind address. */
  readonly host: string;
  /**
   * HOST:PORT this instance advertises. Its default is computed from `port`, so with `--port 0`
   * the caller should replace it once the listening port is known.
   */
  readonly serverHostPort: string;
  /** Absolute (resolved against the current directory). */
  readonly workFolder: string;
  /** postgres:// URL (may hold a password: log it through `serveConfigForLog`); absent: embedded SQLite. */
  readonly databaseUrl?: string;
  /** Absent: the built-in time-stamping authority. */
  /** External TSAs in the order they are tried (`--tsa-url`); empty: the built-in one. */
  readonly tsaUrls: readonly string[];
  /** Absent: mails are written to the outbox in the work folder. */
  readonly smtpUrl?: string;
  /** Base for links, without a trailing slash; absent: derived from `serverHostPort`. */
  readonly publicUrl?: string;
  readonly maxBodyBytes: number;
  /** Signed bytes a Sign'Stash answer may carry inline (base64 in JSON); more is refused. */
  readonly maxInlineContentBytes: number;
  /** POST /v1/verify requests at once. */
  readonly maxVerifications: number;
  readonly maxDocuments: number;
  /** Normalized hosts, IP addresses and CIDR blocks (`10.0.0.0/8`). */
  readonly outboundAllow: readonly string[];
  /** Chromium executable for URL snapshots (PDF, PNG); absent: raw capture only. */
  readonly captureBrowser?: string;
  /** Certificate files or folders of extra trust anchors for verification. */
  readonly trustAnchorFiles: readonly string[];
  /** Trusted lists (files or URLs) and the certificates they must be signed with. */
  readonly trustLists: readonly string[];
  readonly trustListSigners: readonly string[];
  readonly trustListRefreshMs: number;
  /** Verification never fetches revocation data. */
  readonly verifyOffline: boolean;
  /** Delay before each delivery attempt; its length is the number of attempts. */
  readonly webhookRetryScheduleMs: readonly number[];
  readonly webhookTimeoutMs: number;
  readonly workers: number;
  readonly registrationWorkers: number;
  readonly tokenTtlMs: number;
  readonly logLevel: LogLevel;
  readonly leaseTimeMs: number;
  /** Absent: finished signature operations keep their bytes for ever. */
  readonly retentionMs?: number;
  /** The hot-folder mode (API.md §12) for the clients that configure one. */
  readonly hotFolder: boolean;
  readonly hotFolderSettleMs: number;
}

/**
 * The configuration from the arguments after `serve` and the environment; throws a ConfigError
 * with a one-line message naming the flag or variable. `--help` is the caller's: check
 * `wantsHelp(argv)` first.
 */
export function parseServeConfig(argv: string[], env: Record<string, string | undefined>): ServeConfig {
  const values = resolveFlags(serveFlags, argv, env);
  const get = <T>(name: string): T => values.get(name) as T;
  return {
    port: get('port'),
    host: get('host'),
    serverHostPort: get('server.host.port'),
    workFolder: path.resolve(get<string>('work-folder')),
    databaseUrl: get('database-url'),
    tsaUrls: (get('tsa-url') as string[] | undefined) ?? [],
    smtpUrl: get('smtp-url'),
    publicUrl: get<string | undefined>('public-url')?.replace(/\/+$/, ''),
    maxBodyBytes: get('max-body-size'),
    maxInlineContentBytes: get('max-inline-content'),
    maxVerifications: get('max-verifications'),
    maxDocuments: get('max-documents'),
    outboundAllow: get('outbound-allow'),
    captureBrowser: get('capture-browser'),
    trustAnchorFiles: get('trust-anchors'),
    trustLists: get('trust-list'),
    trustListSigners: get('trust-list-signers'),
    trustListRefreshMs: get('trust-list-refresh'),
    verifyOffline: get('verify-offline'),
    webhookRetryScheduleMs: get('webhook-retry-schedule'),
    webhookTimeoutMs: get('webhook-timeout'),
    workers: get('workers'),
    registrationWorkers: get('registration-workers'),
    tokenTtlMs: get('token-ttl'),
    logLevel: get('log-level'),
    leaseTimeMs: get('lease-time'),
    retentionMs: get('retention'),
    hotFolder: get('hot-folder'),
    hotFolderSettleMs: get('hot-folder-settle'),
  };
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** `signet serve --help`: every flag with its value form, default and environment twin. */
export function serveHelpText(): string {
  const lines = ['Usage: signet serve [flags]', '', 'Flags (each also read from its environment variable; a flag wins):'];
  for (const spec of serveFlags) {
    lines.push(`  --${spec.name} <${valueName(spec)}>`);
    lines.push(`      ${spec.description}`);
    lines.push(`      ${defaultText(spec)}; env ${spec.env}`);
  }
  lines.push('', '  --help', '      show this text');
  return `${lines.join('\n')}\n`;
}

/** The configuration with passwords of URLs masked, for the startup log line. */
export function serveConfigForLog(config: ServeConfig): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: maskPassword(config.databaseUrl),
    smtpUrl: maskPassword(config.smtpUrl),
    tsaUrls: config.tsaUrls.map(maskPassword),
    publicUrl: maskPassword(config.publicUrl),
  };
}

function maskPassword(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const url = new URL(text);
  if (url.password !== '') url.password = '***';
  // Query strings carry secrets too (?password=…, ?sslpassword=…, API keys): none is logged.
  if (url.search !== '') url.search = '?***';
  return url.toString();
}

function valueName(spec: FlagSpec): string {
  return spec.kind === 'host-port' ? 'HOST:PORT' : spec.kind;
}

function defaultText(spec: FlagSpec): string {
  if (spec.defaultHelp !== undefined) return `default ${spec.defaultHelp}`;
  if (spec.default === undefined) return 'optional';
  return spec.default === '' ? 'default empty' : `default ${String(spec.default)}`;
}
