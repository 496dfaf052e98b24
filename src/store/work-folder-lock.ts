import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

/**
 * One `signet serve` per embedded work folder. Two processes on one folder would each take the
 * other's live tasks for a crashed process's (start-up recovery), and the embedded store was never
 * meant to be shared: the second refuses to start, naming the folder and the holder.
 *
 * The lock is an operating-system lock that dies with its process, so a SIGKILL or a power cut
 * never leaves the folder locked: SQLite's own file lock on `signet.lock` (fcntl on Unix), held
 * for the life of the process by `locking_mode = EXCLUSIVE`. A pid file would need a staleness
 * rule, and two starters could both judge it stale. `signet.pid` only names the holder for the
 * message; it decides nothing.
 */
export class WorkFolderLock {
  private constructor(
    private readonly database: BetterSqlite3.Database,
    private readonly workFolder: string,
  ) {}

  /** Takes the folder, or throws a one-line message naming it and the process that holds it. */
  static acquire(workFolder: string): WorkFolderLock {
    const database = new BetterSqlite3(path.join(workFolder, 'signet.lock'), { timeout: 0 });
    try {
      database.pragma('locking_mode = EXCLUSIVE');
      // The first write takes the exclusive lock, and EXCLUSIVE mode keeps it until close.
      database.exec('BEGIN EXCLUSIVE');
      database.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, host TEXT, since TEXT)');
      database.exec('DELETE FROM holder');
      database.prepare('INSERT INTO holder VALUES (?, ?, ?)').run(process.pid, hostname(), new Date().toISOString());
      database.exec('COMMIT');
    } catch (error) {
      database.close();
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
      throw new Error(
        `the work folder ${workFolder} is in use by another signet serve (${describeHolder(workFolder)}); stop it first or start with another --work-folder ` +
          '(a folder on a file system without locks, such as some network mounts, is refused the same way: use a local one)',
      );
    }
    writeFileSync(pidFile(workFolder), `${process.pid} ${hostname()} ${new Date().toISOString()}\n`);
    return new WorkFolderLock(database, workFolder);
  }

  release(): void {
    if (!this.database.open) return;
    rmSync(pidFile(this.workFolder), { force: true });
    this.database.close();
  }
}

function pidFile(workFolder: string): string {
  return path.join(workFolder, 'signet.pid');
}

function describeHolder(workFolder: string): string {
  try {
    const [pid, host, since] = readFileSync(pidFile(workFolder), 'utf8').trim().split(' ');
    return `process ${pid} on ${host}, started ${since}`;
  } catch {
    return 'a process that is still starting';
  }
}
