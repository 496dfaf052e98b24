import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, link, lstat, lutimes, readdir, readFile, readlink, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncPath } from '../../util/durable-files.js';

/**
 * File steps of the hot folder (API.md §12) that must leave no half state a consumer could see or a
 * restart could misread: whole files appear by rename, names already present are never overwritten.
 */

/**
 * Reserves `name`, else `name-1`, `name-2`, … before the extension: the first that `folder` does not hold
 * and nobody else reserved. The reservation is a hidden symbolic link whose target is `mark` (see
 * reservationMark): made in one exclusive step with its content (symlink(2) fails with EEXIST), so two
 * batches (or two instances sharing the folder) finishing at once never pick the same name, and the same
 * document finds its reservation again after a crash. (An exclusive create followed by a write had a
 * window where kill -9 left an empty reservation its own document no longer recognised.) Released by
 * its owner once the document is done.
 */
export async function reserveName(folder: string, name: string, mark: string): Promise<string> {
  const extension = path.extname(name);
  const stem = extension && extension !== name ? name.slice(0, -extension.length) : name;
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : `${stem}-${n}${extension}`;
    const reservation = reservationOf(folder, candidate);
    try {
      await createReservation(reservation, mark);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Someone else's; or ours from before a crash that came before the plan was written, taken again
      // unless the name was taken meanwhile (below).
      if ((await readReservation(reservation)) !== mark) continue;
    }
    // Present already (a dangling symbolic link too), or placed meanwhile by someone who did not reserve.
    if (await lexists(path.join(folder, candidate))) {
      await unlink(reservation).catch(() => {});
      continue;
    }
    return candidate;
  }
}

/**
 * What a reservation holds: the batch, then a digest of the document and the role — 53 characters,
 * because ext4 keeps a symbolic link's target of up to 60 bytes in its inode (a longer one took a data
 * block, three times the cost), and the batch lets a later start remove what a crash left behind
 * (removeStaleReservations).
 */
export function reservationMark(batch: string, documentId: string, role: string): string {
  return `${batch}.${createHash('sha256').update(`${documentId}\n${role}`).digest('hex').slice(0, 16)}`;
}

/**
 * The reservation as a symbolic link. Where the file system has none (FAT, some shares): the mark
 * written under a name of its own, then hard-linked into place (exclusive too); with neither, an
 * exclusive create then a write (its crash window is what removeStaleReservations clears).
 */
async function createReservation(reservation: string, mark: string): Promise<void> {
  const unsupported = (error: unknown) => ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((error as NodeJS.ErrnoException).code ?? '');
  try {
    await symlink(mark, reservation);
    return;
  } catch (error) {
    if (!unsupported(error)) throw error;
  }
  const staged = path.join(path.dirname(reservation), hiddenName(`${path.basename(reservation)}\n${mark}`, 'tmp'));
  await writeFile(staged, mark);
  try {
    await link(staged, reservation);
  } catch (error) {
    if (!unsupported(error)) throw error;
    await writeFile(reservation, mark, { flag: 'wx' });
  } finally {
    await unlink(staged).catch(() => {});
  }
}

async function readReservation(reservation: string): Promise<string> {
  try {
    return await readlink(reservation);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') return '';
    return readFile(reservation, 'utf8').catch(() => '');
  }
}

/**
 * Frees `name` if `mark` still holds it: a release repeated after a restart must not free a name that
 * another batch has reserved since. (Between the read and the unlink only its owner could change it.)
 */
export async function releaseName(folder: string, name: string, mark: string): Promise<void> {
  const reservation = reservationOf(folder, name);
  if ((await readReservation(reservation)) === mark) await unlink(reservation).catch(() => {});
}

/** Marks a reservation as in use now (its age is what removeStaleReservations goes by). */
export async function touchReservation(folder: string, name: string, now: Date): Promise<void> {
  await lutimes(reservationOf(folder, name), now, now).catch(() => {});
}

/**
 * Removes the reservations in `folder` that a crash left behind: those of a batch no instance still
 * has (`isLive`) — or unreadable ones — once older than `olderThanMs` (instances with other work
 * folders may share an output folder; their batches are not visible here, so age decides). A restart
 * that planned a document again under another name left its first reservation for good otherwise.
 */
export async function removeStaleReservations(folder: string, isLive: (batch: string) => boolean, olderThanMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const entry of await readdir(folder)) {
    if (!entry.startsWith('.signet-') || !entry.endsWith('.reserved')) continue;
    const reservation = path.join(folder, entry);
    const batch = (await readReservation(reservation)).split('.')[0] ?? '';
    if (batch && isLive(batch)) continue;
    const info = await lstat(reservation).catch(() => undefined);
    if (!info || now - info.mtimeMs < olderThanMs) continue;
    await unlink(reservation).catch(() => {});
    removed++;
  }
  return removed;
}

async function lexists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

function reservationOf(folder: string, name: string): string {
  return path.join(folder, hiddenName(name, 'reserved'));
}

/**
 * A hidden name of fixed length for `name`'s bookkeeping (temporary write, reservation): a file
 * name near the 255-byte limit must not fail because of what we add to it.
 */
export function hiddenName(name: string, purpose: 'tmp' | 'reserved'): string {
  return `.signet-${createHash('sha256').update(name).digest('hex').slice(0, 24)}.${purpose}`;
}

/** Writes a whole file under a hidden temporary name in the same folder, flushes it, then renames it into place. */
export async function writeWhole(file: string, content: Buffer | string | Readable): Promise<void> {
  const temporary = await writeUnflushed(file, content);
  await fsyncPath(temporary);
  await rename(temporary, file);
  // The new name is on disk too: a plan must survive a power loss before the renames it governs.
  await fsyncPath(path.dirname(file));
}

/**
 * The first half of writeWhole for many files at once: the content under the target's hidden temporary
 * name, not yet flushed; `flushAll` (util/durable-files.ts) then one rename each put them in place. One temporary name per
 * target: a write cut short by a crash is replaced by the retry, not left beside it.
 */
export async function writeUnflushed(file: string, content: Buffer | string | Readable): Promise<string> {
  const temporary = temporaryNameOf(file);
  try {
    if (typeof content === 'string' || Buffer.isBuffer(content)) await writeFile(temporary, content);
    else await pipeline(content, createWriteStream(temporary));
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  return temporary;
}

/** The hidden name `file` is written under before its rename into place. */
export function temporaryNameOf(file: string): string {
  return path.join(path.dirname(file), hiddenName(path.basename(file), 'tmp'));
}

/** JSON written whole (write, flush, rename), so a crash leaves the old version or the new one. */
export async function writeJsonWhole(file: string, value: unknown): Promise<void> {
  await writeWhole(file, `${JSON.stringify(value)}\n`);
}

/** A rename, or across file systems a copy then an unlink (the backup may be on another disk). */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
    await unlink(from);
  }
}

