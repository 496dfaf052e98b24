import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
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
 * and nobody else reserved. The reservation is a hidden marker made with an exclusive create, so two
 * batches (or two instances sharing the folder) finishing at once never pick the same name; it holds
 * `owner`, so the same document finds its reservation again after a crash; it is released once the file
 * is in place.
 */
export async function reserveName(folder: string, name: string, owner: string): Promise<string> {
  const extension = path.extname(name);
  const stem = extension && extension !== name ? name.slice(0, -extension.length) : name;
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : `${stem}-${n}${extension}`;
    if (await exists(path.join(folder, candidate))) continue;
    try {
      await createWithContent(reservationOf(folder, candidate), owner);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Ours already, from before a crash that came before the plan was written: take it again.
      if ((await readFile(reservationOf(folder, candidate), 'utf8').catch(() => '')) === owner) return candidate;
      continue;
    }
    // Placed meanwhile by someone who did not reserve (a person copying a file in): look further.
    if (await exists(path.join(folder, candidate))) {
      await releaseName(folder, candidate);
      continue;
    }
    return candidate;
  }
}

/**
 * Creates `file` holding `content`, failing with EEXIST if it is there: written under a name of its own,
 * then linked (link(2) is exclusive like O_EXCL). An exclusive create then a write left, when a kill fell
 * between the two, an empty reservation that its own document no longer recognised after the restart —
 * and that output went to `name-1`.
 */
async function createWithContent(file: string, content: string): Promise<void> {
  const staged = path.join(path.dirname(file), hiddenName(`${path.basename(file)}\n${content}`, 'tmp'));
  await writeFile(staged, content);
  try {
    await link(staged, file);
  } catch (error) {
    // No hard links on this file system (FAT, some network shares): the exclusive create, with its small window.
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await writeFile(file, content, { flag: 'wx' });
  } finally {
    await unlink(staged).catch(() => {});
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
  const temporary = path.join(path.dirname(file), hiddenName(path.basename(file), 'tmp'));
  try {
    if (typeof content === 'string' || Buffer.isBuffer(content)) await writeFile(temporary, content);
    else await pipeline(content, createWriteStream(temporary));
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  return temporary;
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

