import { closestName } from './closest-name.js';
import { ConfigError } from './config-error.js';
import type { FlagSpec } from './flags.js';
import { formOf, parseFlagValue } from './flag-values.js';

/** Where a value came from, as the operator would name it in an error: `--port` or `SIGNET_PORT`. */
interface RawValue {
  readonly text: string;
  readonly source: string;
}

/**
 * Every flag of the table resolved to a typed value (or undefined for an absent optional one):
 * command line first, then the environment twin, then the default. Flags are resolved in table
 * order, so a computed default may read any flag above it.
 */
export function resolveFlags(
  table: readonly FlagSpec[],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Map<string, unknown> {
  const fromArgv = readArgv(table, argv);
  const values = new Map<string, unknown>();
  const resolved = (name: string): unknown => values.get(name);
  for (const spec of table) {
    const raw = fromArgv.get(spec.name) ?? fromEnv(spec, env) ?? fromDefault(spec, resolved);
    values.set(spec.name, raw === undefined ? undefined : parseRaw(spec, raw));
  }
  return values;
}

/** `--flag=value`, `--flag value`, and a bare `--flag` for booleans; the last occurrence wins. */
function readArgv(table: readonly FlagSpec[], argv: readonly string[]): Map<string, RawValue> {
  const byName = new Map(table.map((spec) => [spec.name, spec]));
  const values = new Map<string, RawValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (flags start with --; see --help)`);
    }
    const equals = arg.indexOf('=');
    const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
    const spec = byName.get(name) ?? unknownFlag(name, table);
    const source = `--${name}`;
    if (equals >= 0) {
      values.set(name, { text: arg.slice(equals + 1), source });
    } else if (spec.kind === 'boolean') {
      values.set(name, { text: 'true', source });
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new ConfigError(`${source}: missing value (use ${formOf(spec)})`);
      }
      values.set(name, { text: next, source });
      i++;
    }
  }
  return values;
}

/** An empty variable counts as unset: compose files and CI templates often leave them blank. */
function fromEnv(spec: FlagSpec, env: Readonly<Record<string, string | undefined>>): RawValue | undefined {
  const text = env[spec.env];
  return text === undefined || text.trim() === '' ? undefined : { text, source: spec.env };
}

function fromDefault(spec: FlagSpec, resolved: (name: string) => unknown): RawValue | undefined {
  if (spec.default === undefined) return undefined;
  const text = typeof spec.default === 'function' ? spec.default(resolved) : spec.default;
  return { text, source: `default of --${spec.name}` };
}

/**
 * An empty value given on purpose (`--tsa-url=`) unsets an optional flag or empties a list, so a
 * command line can override the environment; a flag that needs a value refuses it.
 */
function parseRaw(spec: FlagSpec, raw: RawValue): unknown {
  if (raw.text.trim() === '') {
    if (spec.kind === 'list') return [];
    if (spec.default === undefined) return undefined;
    throw new ConfigError(`${raw.source}: missing value (use ${formOf(spec)})`);
  }
  try {
    return parseFlagValue(spec, raw.text);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`${raw.source}: ${error.message}`, { cause: error });
  }
}

function unknownFlag(name: string, table: readonly FlagSpec[]): never {
  const hint = closestName(name, table.map((spec) => spec.name));
  const suggestion = hint === undefined ? 'see --help' : `did you mean --${hint}?`;
  // A pasted value may hold a line break; the message must stay on one line.
  const printable = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  throw new ConfigError(`unknown flag --${printable} (${suggestion})`);
}
