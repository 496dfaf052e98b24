import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncPath } from '../util/durable-files.js';
import { mapLimit } from '../util/map-limit.js';
import { processIsRunning } from '../util/process-liveness.js';
import { randomIdentifierBytes } from '../util/random-identifier-bytes.js';
import { uuid7Time } from '../util/uuid7.js';
import { assertBlobKey, buffersOf, type BlobSource, type BlobStore, type BlobWriteOptions, type StoredBlob } from './blob-store.js';

/**
 * Blobs as files in the work folder (the embedded default). Uploads stream straight to disk while
 * being hashed, so memory never holds a whole document. Each write goes to a temporary name, is fsynced,
 * then renamed, and the directory fsynced — after `write` resolves, the bytes survive a crash.
 *
 * Keys are `<area>/<id>` (e.g. `in/<documentId>`); files are spread over 256 subfolders by the id's
 * last two hex digits (UUIDv7 ids share their leading, time-based digits).
 */
export class FileBlobStore implements BlobStore {
  /** Folders known to exist: a recursive mkdir per blob cost more than writing a 200 KB document. */
  private readonly folders = new Set<string>();

  constructor(private readonly root: string) {}

  pathOf(key: string): string {
    const { area, id } = assertBlobKey(key);
    return path.join(this.root, area, id.slice(-2), id);
  }

  /** Streams `source` to the blob, hashing as it goes; rejects (and leaves nothing) on error. */
  async write(key: string, source: BlobSource, options: BlobWriteOptions = {}): Promise<StoredBlob> {
    const durable = options.durable ?? true;
    const hashing = options.hash ?? true;
    const finalPath = this.pathOf(key);
    await this.ensureFolder(path.dirname(finalPath));
    const tempPath = `${finalPath}.${process.pid}.${randomIdentifierBytes(6).toString('hex')}.tmp`;
    const hash = createHash('sha256');
    let size = 0;
    try {
      const buffers = buffersOf(source);
      if (buffers) {
        for (const buffer of buffers) {
          if (hashing) hash.update(buffer);
          size += buffer.length;
        }
        const handle = await open(tempPath, 'w');
        try {
          await writeAll(handle, buffers);
          if (durable) await handle.sync();
        } finally {
          await handle.close();
        }
      } else {
        const hasher = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            if (hashing) hash.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        const handle = await open(tempPath, 'w');
        try {
          await pipeline(source, hasher, fileWriter(handle, durable));
        } finally {
          await handle.close();
        }
      }
      await rename(tempPath, finalPath);
      if (durable) await fsyncPath(path.dirname(finalPath));
    } catch (error) {
      await rm(tempPath, { force: true });
      throw error;
    }
    return { size, sha256: hashing ? hash.digest('hex') : '' };
  }

  async adopt(key: string, file: string): Promise<StoredBlob> {
    const finalPath = this.pathOf(key);
    await this.ensureFolder(path.dirname(finalPath));
    const copy = () => this.write(key, createReadStream(file), { durable: false });
    // A file with other names already (a producer that drops by `ln`) could change under the blob: copied.
    if ((await stat(file)).nlink > 1) return copy();
    try {
      await link(file, finalPath);
    } catch (error) {
      // Another file system, or none with hard links (or not for this file's owner): written as any upload.
      if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      return copy();
    }
    try {
      // The digest of what the blob now holds; 1 MiB reads: a 200 KB document in one, a large one in bounded memory.
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of createReadStream(finalPath, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
      }
      return { size, sha256: hash.digest('hex') };
    } catch (error) {
      await rm(finalPath, { force: true });
      throw error;
    }
  }

  private async ensureFolder(folder: string): Promise<void> {
    if (this.folders.has(folder)) return;
    await mkdir(folder, { recursive: true });
    this.folders.add(folder);
  }

  /**
   * Measured with bench/batch-http.ts: one fsync of file and folder per blob made a 200-document
   * upload cost ~9 ms per document; flushing the batch together, in parallel, lets the filesystem
   * journal commit many at once. (One syncfs for the batch, as the hot folder's outputs use, measured
   * no better here for uploads: 9.4–9.9 s against 9.0 s for 2,500 × 200 KB, bench/hot-folder.ts.)
   */
  async makeDurable(keys: readonly string[]): Promise<void> {
    const files = keys.map((key) => this.pathOf(key));
    await mapLimit(files, 16, fsyncPath);
    await mapLimit([...new Set(files.map((file) => path.dirname(file)))], 16, fsyncPath);
  }

  createReadStream(key: string): Readable {
    return createReadStream(this.pathOf(key));
  }

  async copyTo(key: string, file: string): Promise<void> {
    // A reflink where the file system has them (btrfs, XFS), else copy_file_range: no bytes through JavaScript.
    await copyFile(this.pathOf(key), file, constants.COPYFILE_FICLONE);
  }

  /** One open, read and close: a read stream's 64 KB chunks cost four times the calls for 200 KB. */
  readAll(key: string): Promise<Buffer> {
    return readFile(this.pathOf(key));
  }

  async size(key: string): Promise<number> {
    return (await stat(this.pathOf(key))).size;
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.pathOf(key)).then(
      () => true,
      () => false,
    );
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /**
   * Removes the temporary files of writes that never finished (the process died mid-upload): no key
   * ever points at a `.tmp` name. A file goes when it is older than `olderThanMs`, or when the process
   * its name records (`<id>.<pid>.<random>.tmp`) is neither this one nor running — so a write in
   * progress, in this process or another sharing the folder, is never touched. Answers how many went.
   */
  async removeAbandonedWrites(olderThanMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for await (const { folder, name } of this.#entries()) {
      if (!name.endsWith('.tmp')) continue;
      const file = path.join(folder, name);
      const writer = Number(name.split('.').at(-3));
      const writerGone = Number.isSafeInteger(writer) && writer > 0 && writer !== process.pid && !processIsRunning(writer);
      const info = writerGone ? undefined : await stat(file).catch(() => undefined);
      if (writerGone || (info && now - info.mtimeMs > olderThanMs)) {
        await rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async *listIds(area: string, createdBefore: number): AsyncIterable<string> {
    for await (const { name } of this.#entries(area)) {
      const made = uuid7Time(name);
      if (made !== undefined && made < createdBefore) yield name;
    }
  }

  /** Every file name under the areas (or one area), with its shard folder. */
  async *#entries(onlyArea?: string): AsyncIterable<{ folder: string; name: string }> {
    const areas = onlyArea ? [onlyArea] : (await readdir(this.root, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name);
    for (const area of areas) {
      const shards = await readdir(path.join(this.root, area), { withFileTypes: true }).catch(() => []);
      for (const shard of shards.filter((entry) => entry.isDirectory())) {
        const folder = path.join(this.root, area, shard.name);
        for (const name of await readdir(folder).catch(() => [] as string[])) yield { folder, name };
      }
    }
  }

  /** Checks the blob folder is writable (readiness probe). */
  async checkWritable(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const probe = path.join(this.root, `.probe-${process.pid}`);
    const handle = await open(probe, 'w');
    await handle.close();
    await rm(probe, { force: true });
  }
}

/**
 * A durable stream write flushes as it goes: the page cache otherwise holds the whole upload
 * (Linux starts writing back only past 10 % of memory) and the final fsync wrote all of it while the
 * client waited. Staging 512 MB (bench/registrations.ts): 1.76–1.83 s without, 1.48–1.50 s with;
 * sha256sum of the same file took 2.0 s.
 */
const FLUSH_EVERY_BYTES = 32 * 1024 * 1024;

/** Writes the stream to `handle`; durable: a datasync each FLUSH_EVERY_BYTES, one in flight, and a full sync at the end. */
function fileWriter(handle: FileHandle, durable: boolean): Writable {
  let unflushed = 0;
  let flushing: Promise<void> = Promise.resolve();
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      void (async () => {
        await handle.write(chunk);
        unflushed += chunk.length;
        if (durable && unflushed >= FLUSH_EVERY_BYTES) {
          unflushed = 0;
          // The previous flush must be done first: the disk sets the pace and dirty memory stays bounded.
          await flushing;
          flushing = handle.datasync();
          // Awaited by the next flush or by final; until then its failure must not count as unhandled.
          flushing.catch(() => {});
        }
      })().then(() => callback(), callback);
    },
    final(callback) {
      void (async () => {
        await flushing;
        if (durable) await handle.sync();
      })().then(() => callback(), callback);
    },
  });
}

/** Writes the buffers in order with one writev; a short write (rare on files) goes on from where it stopped. */
async function writeAll(handle: FileHandle, buffers: readonly Buffer[]): Promise<void> {
  let remaining = buffers.filter((buffer) => buffer.length > 0);
  while (remaining.length > 0) {
    let { bytesWritten } = await handle.writev(remaining as Buffer[]);
    while (remaining.length > 0 && bytesWritten >= remaining[0].length) {
      bytesWritten -= remaining[0].length;
      remaining = remaining.slice(1);
    }
    if (remaining.length > 0) remaining = [remaining[0].subarray(bytesWritten), ...remaining.slice(1)];
  }
}
