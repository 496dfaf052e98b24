import { randomBytes } from 'node:crypto';
import { watch, watchFile, unwatchFile, type FSWatcher, type Stats } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './config-error.js';
import { parseClientServices, type ClientService } from './client-services.js';

export const clientServicesFileName = 'client-services-config.json';

/** The slice of pino this module uses: `log.info({ count }, 'message')` or `log.info('message')`. */
export interface ConfigLog {
  info(objOrMessage: object | string, message?: string): void;
  warn(objOrMessage: object | string, message?: string): void;
  error(objOrMessage: object | string, message?: string): void;
}

export type ClientServicesListener = (clients: ReadonlyMap<string, ClientService>) => void;

export interface RegistryOptions {
  readonly log: ConfigLog;
  /** Quiet time after the last file event before reading; editors write in several steps. */
  readonly debounceMs?: number;
  /** Stat polling interval, the fallback for filesystems where fs.watch misses events. */
  readonly pollIntervalMs?: number;
  /** false: rely on polling alone, as happens where fs.watch is silent (and in the test of that case). */
  readonly useFsWatch?: boolean;
}

/**
 * The client services of the work folder, kept current while the service runs: the file is
 * watched (fs.watch on the folder, which also sees editors that save by rename, plus stat polling
 * because fs.watch is silent on some network and container filesystems). A valid change replaces
 * the whole set at once; an invalid one is logged and the previous set stays in force.
 */
export class ClientServicesRegistry {
  readonly file: string;
  readonly #log: ConfigLog;
  readonly #debounceMs: number;
  readonly #listeners = new Set<ClientServicesListener>();
  #clients: ReadonlyMap<string, ClientService>;
  /** Text of the last read, valid or not: an unchanged file is not parsed or logged again. */
  #lastText: string;
  #watcher?: FSWatcher;
  #pollListener?: (current: Stats, previous: Stats) => void;
  #debounce?: NodeJS.Timeout;
  #reloads: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(file: string, text: string, clients: ReadonlyMap<string, ClientService>, options: RegistryOptions) {
    this.file = file;
    this.#log = options.log;
    this.#debounceMs = options.debounceMs ?? 100;
    this.#clients = clients;
    this.#lastText = text;
  }

  /**
   * Loads (creating on first start) `client-services-config.json` in the work folder. An invalid
   * file throws its ConfigError: at start there is no previous configuration to keep.
   */
  static async open(workFolder: string, options: RegistryOptions): Promise<ClientServicesRegistry> {
    const file = path.join(workFolder, clientServicesFileName);
    if (await createWithDemoClient(file)) {
      options.log.info(
        { file, clientId: 'demo' },
        'created the client services file with a "demo" client; its secret is in the file, readable only by this user',
      );
    }
    const text = await readFile(file, 'utf8');
    const registry = new ClientServicesRegistry(file, text, parseClientServices(text, file), options);
    registry.#watch(options.pollIntervalMs ?? 1000, options.useFsWatch ?? true);
    options.log.info({ file, count: registry.#clients.size }, `client services loaded (${registry.#clients.size} clients)`);
    return registry;
  }

  get(id: string): ClientService | undefined {
    return this.#clients.get(id);
  }

  all(): ClientService[] {
    return [...this.#clients.values()];
  }

  /** Called with the new set after each valid change; returns the function that unsubscribes. */
  onChange(listener: ClientServicesListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads the file now (tests; a SIGHUP handler). Reloads run one at a time, in order. */
  reloadNow(): Promise<void> {
    this.#reloads = this.#reloads.then(() => this.#reload());
    return this.#reloads;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    if (this.#pollListener) unwatchFile(this.file, this.#pollListener);
    this.#listeners.clear();
  }

  #watch(pollIntervalMs: number, useFsWatch: boolean): void {
    if (useFsWatch) this.#watchFolder();
    this.#pollListener = (current, previous) => {
      if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) {
        this.#scheduleReload();
      }
    };
    watchFile(this.file, { persistent: false, interval: pollIntervalMs }, this.#pollListener);
  }

  /** The folder, not the file: editors that save by writing a new file and renaming it replace the inode. */
  #watchFolder(): void {
    try {
      this.#watcher = watch(path.dirname(this.file), { persistent: false }, (_event, name) => {
        if (name === null || String(name) === clientServicesFileName) this.#scheduleReload();
      });
      this.#watcher.on('error', (error) => {
        this.#log.warn({ file: this.file, err: error }, 'watching the client services file failed; polling it instead');
        this.#watcher?.close();
      });
    } catch (error) {
      this.#log.warn({ file: this.file, err: error }, 'cannot watch the client services file; polling it instead');
    }
  }

  #scheduleReload(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.reloadNow(), this.#debounceMs);
    this.#debounce.unref();
  }

  async #reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if (this.#closed) return;
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      this.#log.error({ file: this.file }, `cannot read ${this.file} (${reason}); keeping the previous client services`);
      return;
    }
    if (this.#closed || text === this.#lastText) return;
    this.#lastText = text;
    let clients: Map<string, ClientService>;
    try {
      clients = parseClientServices(text, this.file);
    } catch (error) {
      // Anything else is a bug of ours, but a reload runs from a timer: log it, keep serving.
      const message = error instanceof ConfigError ? error.message : `${this.file}: ${String(error)}`;
      this.#log.error({ file: this.file }, `${message}; keeping the previous client services`);
      return;
    }
    this.#clients = clients;
    this.#log.info({ file: this.file, count: clients.size }, `client services reloaded (${clients.size} clients)`);
    this.#notify(clients);
  }

  /** A failing listener is logged and does not stop the others or the reload. */
  #notify(clients: ReadonlyMap<string, ClientService>): void {
    for (const listener of this.#listeners) {
      try {
        listener(clients);
      } catch (error) {
        this.#log.error({ err: error }, 'a client services change listener failed');
      }
    }
  }
}

/**
 * First start: one client "demo" with a random plain secret (Sign'Stash format, so the operator
 * can read it), in a file only this user may read. `wx` makes two instances starting together
 * agree on one file. Returns whether the file was created.
 */
async function createWithDemoClient(file: string): Promise<boolean> {
  await mkdir(path.dirname(file), { recursive: true });
  const secret = randomBytes(24).toString('base64url');
  const text = `${JSON.stringify({ demo: { secret } }, null, 2)}\n`;
  try {
    await writeFile(file, text, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
