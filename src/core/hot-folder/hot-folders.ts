import path from 'node:path';
import type { ClientService } from '../../config/client-services.js';
import type { Logger } from '../../util/logger.js';
import type { CoreContext } from '../core-context.js';
import type { SignatureOptions } from '../signatures/signature-options.js';
import { HotFolder, processingFolderOf } from './hot-folder.js';

export interface HotFoldersOptions {
  workFolder: string;
  /** This instance's --server.host.port as configured: its processing area's name. */
  instance: string;
  settleMs: number;
  log: Logger;
}

/**
 * `--hot-folder true`: one HotFolder per client service whose configuration has `hotFolder`; when
 * client-services-config.json changes, the folders are started again from the new configuration
 * (a batch in flight finishes first: stop waits for it).
 */
export class HotFolders {
  #folders: HotFolder[] = [];
  #restarting: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    private readonly context: CoreContext,
    private readonly options: HotFoldersOptions,
  ) {}

  async start(clients: readonly ClientService[]): Promise<void> {
    for (const client of clients) {
      if (!client.hotFolder || this.#closed) continue;
      const resolve = (folder: string) => path.resolve(this.options.workFolder, folder);
      const folder = new HotFolder(this.context, {
        client,
        input: resolve(client.hotFolder.input),
        backup: resolve(client.hotFolder.backup),
        output: resolve(client.hotFolder.output),
        signature: client.hotFolder.signature as SignatureOptions,
        processing: processingFolderOf(this.options.workFolder, client.id, this.options.instance),
        settleMs: this.options.settleMs,
        maxDocuments: this.context.maxDocuments,
        log: this.options.log,
      });
      this.#folders.push(folder);
      await folder.start();
      this.options.log.info({ client: client.id, input: client.hotFolder.input }, 'hot folder watched');
    }
  }

  /** The configuration changed: stop every folder (batches in flight finish), start them again. A folder that cannot start is logged; the others run. */
  restart(clients: readonly ClientService[]): Promise<void> {
    this.#restarting = this.#restarting
      .then(async () => {
        await this.#stopFolders();
        await this.start(clients);
      })
      .catch((error: unknown) => this.options.log.error({ err: (error as Error).message }, 'hot folder: the new configuration could not be applied in full'));
    return this.#restarting;
  }

  async stop(): Promise<void> {
    this.#closed = true;
    await this.#restarting;
    await this.#stopFolders();
  }

  async #stopFolders(): Promise<void> {
    const folders = this.#folders;
    this.#folders = [];
    await Promise.all(folders.map((folder) => folder.stop()));
  }
}
