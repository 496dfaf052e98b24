import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { processIsRunning } from '../util/process-liveness.js';
import { uuid7 } from '../util/uuid7.js';

/**
 * Who holds a lease: `host:pid:scope:role-random`. The scope names this boot of this machine and its
 * process namespace (a container), so a later process can tell, without waiting for the lease to
 * expire, that the holder was a process of *this* machine that no longer runs: a pid is only
 * meaningful within one boot and one pid namespace (two containers sharing a hostname each have a
 * process 1).
 */
export function newLeaseOwner(role: string): string {
  const owner = `${hostname()}:${process.pid}:${processScope()}:${role}-${uuid7().slice(-12)}`;
  ownedHere.add(owner);
  return owner;
}

/** The owners this process made: the others with this process's pid belonged to an earlier one. */
const ownedHere = new Set<string>();

/**
 * True when `owner` was a process of this machine's boot and pid namespace that has exited. Any
 * other owner (another machine, another container, an older format, a live process) is not known
 * to be gone: its lease runs out as usual.
 */
export function leaseOwnerIsGone(owner: string, isRunning: (pid: number) => boolean = processIsRunning): boolean {
  const [host, pidText, scope] = owner.split(':');
  if (host !== hostname() || scope !== processScope() || !/^\d+$/.test(pidText ?? '')) return false;
  const pid = Number(pidText);
  // Our pid but not one of our owners: an earlier process that had this pid, necessarily gone.
  if (pid === process.pid) return !ownedHere.has(owner);
  return !isRunning(pid);
}

let scope: string | undefined;

/** This boot of this machine and this pid namespace, as 12 hex digits. */
export function processScope(): string {
  scope ??= createHash('sha256')
    .update(readOrEmpty(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()))
    .update('/')
    .update(readOrEmpty(() => readlinkSync('/proc/self/ns/pid')))
    .digest('hex')
    .slice(0, 12);
  return scope;
}

function readOrEmpty(read: () => string): string {
  try {
    return read();
  } catch {
    // Not Linux: the scope is the host alone, and pids are still checked on it.
    return '';
  }
}
