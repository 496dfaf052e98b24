import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Below this many files, an fsync each (and one per folder) is cheaper than flushing a whole file system. */
const SYNCFS_FROM_FILES = 16;

/** fsync(2) of a file or a folder (a folder after a rename in it, so that the new name is on disk too). */
export async function fsyncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Puts many files, and the names of their folders, on disk: for a batch, one syncfs(2) per file system
 * (`sync --file-system`, coreutils) instead of an fsync each — 2,500 hot-folder outputs cost 2.3 ms
 * apiece one by one here (bench/hot-folder.ts); for a few files, or where that command is missing, an
 * fsync per file and per folder, `concurrency` at a time, so the journal commits many together.
 */
export async function flushAll(files: readonly string[], concurrency = 16): Promise<void> {
  if (files.length === 0) return;
  const folders = [...new Set(files.map((file) => path.dirname(file)))];
  if (files.length >= SYNCFS_FROM_FILES) {
    try {
      await execFileAsync('sync', ['--file-system', ...folders]);
      return;
    } catch {
      // No coreutils sync here: one by one below.
    }
  }
  for (const paths of [files, folders]) {
    for (let start = 0; start < paths.length; start += concurrency) await Promise.all(paths.slice(start, start + concurrency).map(fsyncPath));
  }
}
