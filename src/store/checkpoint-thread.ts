import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

/**
 * Worker-thread entry of sqlite-checkpointer.ts: a connection of its own that copies the WAL back
 * into the database whenever the WAL has grown past `walBytes`. PASSIVE never waits for, nor blocks,
 * the service's readers and writers; what it cannot copy yet it copies next time.
 */

export interface CheckpointThreadData {
  file: string;
  walBytes: number;
  intervalMs: number;
}

const { file, walBytes, intervalMs } = workerData as CheckpointThreadData;
const db = new BetterSqlite3(file);
const timer = setInterval(() => {
  try {
    if ((statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0) >= walBytes) {
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      parentPort?.postMessage({ checkpointed: result?.checkpointed ?? 0 });
    }
  } catch (error) {
    parentPort?.postMessage({ error: (error as Error).message });
  }
}, intervalMs);

parentPort?.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
