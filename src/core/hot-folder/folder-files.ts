import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, readFile, readlink, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncPath } from '../../util/durable-files.js';

/**
 * File steps of the hot folder (API.md §12) that must leave no half state a consumer could see or a
 * restart could misread: whole files appear by rename, names already present are never overwritten.
 */

export async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Reserves `name`, else `name-1`, `name-2`, … before the extension: the first that `folder` does not hold
 * and nobody else reserved. The reservation is a hidden symbolic link whose target is a digest of `owner`: made in
 * one exclusive step with its content (symlink(2) fails with EEXIST), so two batches (or two instances
 * sharing the folder) finishing at once never pick the same name, and the same document finds its
 * reservation again after a crash. An exclusive create followed by a write had a window where kill -9
 * left an empty reservation its own document no longer recognised, and that output went to `name-1`.
 * Released once the file is in place.
 */
export async function reserveName(folder: string, name: string, owner: string): Promise<string> {
  const extension = path.extname(name);
  const stem = extension && extension !== name ? name.slice(0, -extension.length) : name;
  const mark = reservationMark(owner);
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : `${stem}-${n}${extension}`;
    const reservation = reservationOf(folder, candidate);
    try {
      await createReservation(reservation, mark);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Ours already, from before a crash that came before the plan was written: take it again.
      if ((await readReservation(reservation)) === mark) return candidate;
      continue;
    }
    // Present already, or placed meanwhile by someone who did not reserve (a person copying a file in).
    if (await exists(path.join(folder, candidate))) {
      await releaseName(folder, candidate);
      continue;
    }
    return candidate;
  }
}

/**
 * What a reservation holds: 32 characters, because ext4 keeps a symbolic link's target of up to 60 bytes
 * in its inode; a longer one (the owner's folder path) took a data block, three times the cost.
 */
export function reservationMark(owner: string): string {
  return createHash('sha256').update(owner).digest('hex').slice(0, 32);
}

/** The reservation as a symbolic link; where the file system has none (FAT, some shares), an exclusive create then a write. */
async function createReservation(reservation: string, mark: string): Promise<void> {
  try {
    await symlink(mark, reservation);
  } catch (error) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await writeFile(reservation, mark, { flag: 'wx' });
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

export async function releaseName(folder: string, name: string): Promise<void> {
  await unlink(reservationOf(folder, name)).catch(() => {});
}

function reservationOf(folder: string, name: string): string {
  return path.join(folder, hiddenName(name, 'reserved'));
}

/**
 * A hidden name of fixed length for `name`'s bookkeeping (temporary write, reservation, plan): a file
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

