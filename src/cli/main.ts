import { ConfigError } from '../config/config-error.js';
import { hashSecret } from '../config/secret-hash.js';
import { parseServeConfig, serveHelpText, wantsHelp } from '../config/serve-config.js';
import { createLogger, startService } from './service.js';

const usage = `Usage: signet <command>

Commands:
  serve [flags]     start the service (signet serve --help lists the flags)
  hash-secret       read a client secret from stdin, print its hash for client-services-config.json
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'hash-secret':
      return printSecretHash(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(usage);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`signet: unknown command "${command}"\n${usage}`);
      return 2;
  }
}

async function serve(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(serveHelpText());
    return 0;
  }
  let config;
  try {
    config = parseServeConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`signet: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const service = await startService(config, log);
  // Two-stage shutdown: the first signal drains (stop claiming, let tasks finish, release the
  // rest); a second one releases in-flight tasks at once and exits.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      log.info({ signal }, 'shutting down: no new tasks; finishing the running ones (signal again to stop now)');
      service.close({ graceMs: 30_000 }).then(
        () => process.exit(0),
        (error) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    } else {
      log.warn({ signal }, 'forced shutdown: releasing running tasks to the queue');
      service.runner.stop({ force: true }).finally(() => process.exit(1));
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return new Promise<number>(() => {});
}

/** Reads the secret from stdin (not from argv, where shell history and `ps` would see it). */
async function printSecretHash(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write('signet hash-secret: pass the secret on stdin, e.g. `printf %s "$SECRET" | signet hash-secret`\n');
    return 2;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (secret.length === 0) {
    process.stderr.write('signet hash-secret: the secret on stdin is empty\n');
    return 2;
  }
  process.stdout.write(`${await hashSecret(secret)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`signet: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
