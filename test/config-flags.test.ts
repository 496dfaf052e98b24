import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../src/config/config-error.js';
import { parseDuration } from '../src/config/duration.js';
import { envNameOf, serveFlags, type FlagSpec } from '../src/config/flags.js';
import { resolveFlags } from '../src/config/parse-flags.js';
import { parseServeConfig, serveConfigForLog, serveHelpText, wantsHelp } from '../src/config/serve-config.js';
import { parseSize } from '../src/config/size.js';

const mb = 1024 ** 2;

/** The ConfigError message of a failing parse, checked to be one line. */
function errorOf(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseServeConfig(argv, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.doesNotMatch(error.message, /\n/);
    return error.message;
  }
  assert.fail(`expected ${argv.join(' ')} to be refused`);
}

describe('serve flags', () => {
  it('has defaults for everything a start needs', () => {
    const config = parseServeConfig([], {});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.serverHostPort, `${os.hostname()}:8080`);
    assert.equal(config.workFolder, path.resolve('work'));
    assert.equal(config.databaseUrl, undefined);
    assert.deepEqual(config.tsaUrls, []);
    assert.equal(config.smtpUrl, undefined);
    assert.equal(config.publicUrl, undefined);
    assert.equal(config.maxBodyBytes, 512 * mb);
    assert.equal(config.maxDocuments, 2500);
    assert.deepEqual(config.outboundAllow, []);
    assert.deepEqual(
      config.webhookRetryScheduleMs,
      [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400].map((s) => s * 1000),
    );
    assert.equal(config.workers, os.availableParallelism());
    assert.equal(config.tokenTtlMs, 24 * 3600 * 1000);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.leaseTimeMs, 30_000);
  });

  it('names each environment twin after its flag', () => {
    for (const spec of serveFlags) assert.equal(spec.env, envNameOf(spec.name));
    assert.equal(envNameOf('server.host.port'), 'SIGNET_SERVER_HOST_PORT');
    assert.equal(envNameOf('max-body-size'), 'SIGNET_MAX_BODY_SIZE');
  });

  it('reads environment twins', () => {
    const config = parseServeConfig([], {
      SIGNET_PORT: '9000',
      SIGNET_SERVER_HOST_PORT: 'signet.example:443',
      SIGNET_MAX_BODY_SIZE: '10mb',
      SIGNET_DATABASE_URL: 'postgres://signet@db:5432/signet',
      SIGNET_OUTBOUND_ALLOW: '127.0.0.1, 10.0.0.0/8,Hooks.Internal',
      SIGNET_LOG_LEVEL: 'debug',
      SIGNET_WORKERS: '3',
      SIGNET_SOMETHING_ELSE: 'ignored',
    });
    assert.equal(config.port, 9000);
    assert.equal(config.serverHostPort, 'signet.example:443');
    assert.equal(config.maxBodyBytes, 10 * mb);
    assert.equal(config.databaseUrl, 'postgres://signet@db:5432/signet');
    assert.deepEqual(config.outboundAllow, ['127.0.0.1', '10.0.0.0/8', 'hooks.internal']);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.workers, 3);
  });

  it('lets a flag beat its environment twin', () => {
    const config = parseServeConfig(['--port', '7000', '--max-body-size=1gb'], {
      SIGNET_PORT: '9000',
      SIGNET_MAX_BODY_SIZE: '10mb',
    });
    assert.equal(config.port, 7000);
    assert.equal(config.maxBodyBytes, 1024 * mb);
  });

  it('treats an empty variable as unset, and an empty flag as unsetting an optional value', () => {
    assert.equal(parseServeConfig([], { SIGNET_PORT: '' }).port, 8080);
    const config = parseServeConfig(['--tsa-url=', '--outbound-allow='], {
      SIGNET_TSA_URL: 'https://tsa.example/tsr',
      SIGNET_OUTBOUND_ALLOW: '127.0.0.1',
    });
    assert.deepEqual(config.tsaUrls, []);
    assert.deepEqual(config.outboundAllow, []);
    assert.match(errorOf(['--port=']), /^--port: missing value/);
  });

  it('accepts --server.host.port=h:1 and the spaced form', () => {
    assert.equal(parseServeConfig(['--server.host.port=h:1'], {}).serverHostPort, 'h:1');
    assert.equal(parseServeConfig(['--server.host.port', '[::1]:8443'], {}).serverHostPort, '[::1]:8443');
    assert.equal(parseServeConfig(['--port=9090'], {}).serverHostPort, `${os.hostname()}:9090`);
    assert.equal(
      errorOf(['--server.host.port=nohost']),
      '--server.host.port: "nohost" is not HOST:PORT, e.g. signet.example:443',
    );
    assert.match(errorOf(['--server.host.port=h:70000']), /^--server\.host\.port: "h:70000"/);
  });

  it('reads sizes in bytes or 1024-based kb/mb/gb, any case', () => {
    assert.equal(parseSize('512mb'), 512 * mb);
    assert.equal(parseSize('1GB'), 1024 * mb);
    assert.equal(parseSize('100'), 100);
    assert.equal(parseSize('64Kb'), 64 * 1024);
    for (const bad of ['12xb', '-1', '1.5mb', 'mb', '0', '', '1 tb']) assert.equal(parseSize(bad), undefined, bad);
    assert.equal(
      errorOf(['--max-body-size', '12xb']),
      '--max-body-size: "12xb" is not a size (use bytes or a number with kb, mb or gb)',
    );
    assert.equal(
      errorOf([], { SIGNET_MAX_BODY_SIZE: '12xb' }),
      'SIGNET_MAX_BODY_SIZE: "12xb" is not a size (use bytes or a number with kb, mb or gb)',
    );
  });

  it('parses the webhook retry schedule to milliseconds', () => {
    const config = parseServeConfig(['--webhook-retry-schedule=0s, 100ms,5s,5m,2h,1d,3'], {});
    assert.deepEqual(config.webhookRetryScheduleMs, [0, 100, 5000, 300_000, 7_200_000, 86_400_000, 3000]);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('10H'), 36_000_000);
    assert.match(errorOf(['--webhook-retry-schedule=0s,5x,5m']), /^--webhook-retry-schedule: "5x" in "0s,5x,5m" is not a duration/);
    assert.match(errorOf(['--webhook-retry-schedule=0s,,5m']), /^--webhook-retry-schedule: "" in/);
  });

  it('reads durations for the token lifetime and the lease', () => {
    const config = parseServeConfig(['--token-ttl=3600', '--lease-time', '2m'], {});
    assert.equal(config.tokenTtlMs, 3_600_000);
    assert.equal(config.leaseTimeMs, 120_000);
    assert.equal(errorOf(['--lease-time=10ms']), '--lease-time: "10ms" is too short (use at least 1s)');
  });

  it('refuses an unknown flag in one line that names it', () => {
    assert.equal(errorOf(['--prot=8080']), 'unknown flag --prot (did you mean --port?)');
    assert.equal(errorOf(['--colour', 'red']), 'unknown flag --colour (see --help)');
    assert.match(errorOf(['--bad\nflag']), /^unknown flag --bad\?flag/);
    assert.match(errorOf(['serve']), /^unexpected argument "serve"/);
  });

  it('refuses a flag without its value', () => {
    assert.match(errorOf(['--port']), /^--port: missing value \(use a whole number from 0 to 65535\)$/);
    assert.match(errorOf(['--work-folder', '--port', '1']), /^--work-folder: missing value/);
  });

  it('refuses malformed values, naming the flag or the variable', () => {
    assert.equal(errorOf(['--port=http']), '--port: "http" is not a whole number from 0 to 65535');
    assert.equal(errorOf(['--port=70000']), '--port: "70000" is out of range (use a whole number from 0 to 65535)');
    assert.match(errorOf([], { SIGNET_WORKERS: '-1' }), /^SIGNET_WORKERS: "-1" is/);
    assert.equal(parseServeConfig([], { SIGNET_WORKERS: '0' }).workers, 0, 'an API-only instance');
    assert.match(errorOf(['--log-level=loud']), /^--log-level: "loud" is not one of fatal, error, warn/);
    assert.match(errorOf(['--host=not a host']), /^--host: "not a host" is not an IP address or host name$/);
    assert.match(errorOf(['--outbound-allow=127.0.0.1,10.0.0.0/33']), /^--outbound-allow: "10.0.0.0\/33" is not a host/);
    assert.match(errorOf(['--outbound-allow=999.1.1.1']), /^--outbound-allow: "999.1.1.1" is not a host/);
    assert.match(errorOf(['--public-url=/relative']), /^--public-url: not a URL \(use a URL starting with http:\/\/ or https:\/\/\)$/);
  });

  it('never echoes a URL, which may hold a password', () => {
    const message = errorOf(['--database-url=mysql://signet:hunter2@db/signet']);
    assert.equal(message, '--database-url: "mysql:" URLs are not supported (use a URL starting with postgres:// or postgresql://)');
    const config = parseServeConfig(['--database-url=postgres://signet:hunter2@db/signet'], {});
    assert.doesNotMatch(JSON.stringify(serveConfigForLog(config)), /hunter2/);
  });

  it('drops the trailing slash of the public URL', () => {
    assert.equal(parseServeConfig(['--public-url=https://signet.example/'], {}).publicUrl, 'https://signet.example');
  });

  it('documents every flag, its default and its environment twin in --help', () => {
    const help = serveHelpText();
    for (const spec of serveFlags) {
      assert.ok(help.includes(`--${spec.name} `), spec.name);
      assert.ok(help.includes(spec.env), spec.env);
    }
    assert.match(help, /default 512mb/);
    assert.ok(wantsHelp(['--port=1', '--help']));
    assert.ok(!wantsHelp(['--port=1']));
  });

  it('reads booleans as a bare flag, =true/=false, or an environment twin', () => {
    const table: FlagSpec[] = [
      { name: 'dry-run', env: 'SIGNET_DRY_RUN', kind: 'boolean', default: 'false', description: 'test only' },
      { name: 'port', env: 'SIGNET_PORT', kind: 'int', default: '1', description: 'test only' },
    ];
    assert.equal(resolveFlags(table, [], {}).get('dry-run'), false);
    assert.equal(resolveFlags(table, ['--dry-run', '--port', '2'], {}).get('dry-run'), true);
    assert.equal(resolveFlags(table, ['--dry-run=false'], { SIGNET_DRY_RUN: 'true' }).get('dry-run'), false);
    assert.equal(resolveFlags(table, [], { SIGNET_DRY_RUN: '1' }).get('dry-run'), true);
    assert.throws(() => resolveFlags(table, ['--dry-run=maybe'], {}), /^ConfigError: --dry-run: "maybe" is not true or false$/);
  });
});
