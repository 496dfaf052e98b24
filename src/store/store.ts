import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { silentLogger, type Logger } from '../util/logger.js';
import type { BlobStore } from './blob-store.js';
import { DatabaseBlobStore } from './database-blob-store.js';
import { FileBlobStore } from './file-blob-store.js';
import { ProcessLocalCopies } from './process-local-copies.js';
import { SmallBlobsInDatabase } from './small-blobs-in-database.js';
import { openDatabase, type SqlDialect, type StoreDatabase } from './database.js';
import { DeliveryRepository } from './delivery-repository.js';
import { DocumentRepository } from './document-repository.js';
import { startClockSync } from './clock-sync.js';
import { migrate } from './migrate.js';
import { RegistrationRepository } from './registration-repository.js';
import { SettingsRepository } from './settings-repository.js';
import { SignstashRepository } from './signstash-repository.js';
import { TaskNotifications } from './task-notifications.js';
import { TaskQueue } from './task-queue.js';
import { TaskRepository } from './task-repository.js';
import { MailOutboxRepository, UserRepository } from './user-repository.js';
import { AccountRepository } from './account-repository.js';
import { ValidationDataRepository } from './validation-data-repository.js';

/** Everything the core needs from persistence, behind one object built once at start. */
export interface Store {
  dialect: SqlDialect;
  database: StoreDatabase;
  tasks: TaskRepository;
  queue: TaskQueue;
  documents: DocumentRepository;
  deliveries: DeliveryRepository;
  settings: SettingsRepository;
  signstash: SignstashRepository;
  registrations: RegistrationRepository;
  users: UserRepository;
  accounts: AccountRepository;
  mailOutbox: MailOutboxRepository;
  notifications: TaskNotifications;
  blobs: BlobStore;
  validationData: ValidationDataRepository;
  ping(): Promise<void>;
  /** Gives the space of deleted rows back (StoreDatabase.reclaimSpace). */
  reclaimSpace(): Promise<void>;
  close(): Promise<void>;
}

export async function openStore(options: { databaseUrl?: string; workFolder: string; log?: Logger }): Promise<Store> {
  const database = openDatabase(options);
  try {
    await migrate(database.db, database.dialect);
  } catch (error) {
    await database.close();
    throw error;
  }
  // Embedded: files in the work folder. PostgreSQL: rows in the shared database, so that every
  // instance can serve every document (instances need not share a work folder).
  // Embedded, small durable writes are rows of the same database (one shared flush instead of a
  // file's six calls; small-blobs-in-database.ts).
  const files = database.dialect === 'postgres' ? undefined : new FileBlobStore(path.join(options.workFolder, 'blobs'));
  // PostgreSQL: the inputs this process stages are read back by its signer from local copies (process-local-copies.ts).
  // On this machine, not in the work folder: instances (containers, each pid 1) may share that.
  const copies = files ? undefined : await ProcessLocalCopies.open(path.join(os.tmpdir(), 'signet-input-copies')).catch((error: unknown) => {
    options.log?.warn({ err: (error as Error).message }, 'no local copies of staged inputs: the signer reads them from the database');
    return undefined;
  });
  const blobs: BlobStore = files ? new SmallBlobsInDatabase(files, database.db) : new DatabaseBlobStore(database.db, database.relaxed, copies);
  if (files) {
    // In the background: a large store takes a while to list, and nothing waits for it.
    void files
      .removeAbandonedWrites(24 * 60 * 60 * 1000)
      .then((removed) => removed > 0 && options.log?.info({ removed }, 'removed temporary files of interrupted writes'))
      .catch((error) => options.log?.warn({ err: (error as Error).message }, 'could not remove temporary files of interrupted writes'));
  }
  const notifications = new TaskNotifications(database.pgPool, options.log ?? silentLogger);
  await notifications.start();
  // Instances sharing PostgreSQL stamp leases and due times on its clock, not their own.
  const stopClockSync = database.pgPool ? await startClockSync(database.pgPool, options.log ?? silentLogger) : () => {};
  return {
    dialect: database.dialect,
    database,
    tasks: new TaskRepository(database.db, database.dialect, notifications),
    queue: new TaskQueue(database.db, database.dialect, notifications, database.relaxed),
    documents: new DocumentRepository(database.db, database.dialect),
    deliveries: new DeliveryRepository(database.db, database.dialect),
    settings: new SettingsRepository(database.db),
    registrations: new RegistrationRepository(database.db, database.dialect),
    users: new UserRepository(database.db),
    accounts: new AccountRepository(database.db),
    mailOutbox: new MailOutboxRepository(database.db),
    signstash: new SignstashRepository(database.db),
    notifications,
    blobs,
    validationData: new ValidationDataRepository(database.db),
    async ping() {
      await sql`SELECT 1`.execute(database.db);
      await blobs.checkWritable();
    },
    reclaimSpace: () => database.reclaimSpace(),
    async close() {
      stopClockSync();
      await notifications.close();
      await copies?.close();
      await database.close();
    },
  };
}
