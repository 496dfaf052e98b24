import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { processIsRunning } from '../util/process-liveness.js';
import { randomIdentifierBytes } from '../util/random-identifier-bytes.js';

/** A segment takes copies until it holds this much; the next copy starts a new one. */
const SEGMENT_BYTES = 64 * 1024 * 1024;
/** A segment whose copies were not all read within this time goes whole (another instance signed them). */
const SEGMENT_MAX_AGE_MS = 60 * 60 * 1000;

interface Segment {
  file: string;
  handle: FileHandle;
  createdAt: number;
  /** Copies in it not yet taken or dropped. */
  live: number;
  /** Bytes handed out so far (the next copy's offset). */
  end: number;
  /** No longer written to: deleted once it holds no copy. */
  sealed: boolean;
}

interface Copy {
  segment: Segment;
  offset: number;
  length: number;
}

/**
 * PostgreSQL mode: the inputs this process staged, kept also in local files and read once, by the
 * signer, instead of from the database. Reading 2,500 × 200 KB back as rows (detoasted, base64-encoded
 * by PostgreSQL, sent, decoded) took the signing of one operation from 5.8–6.2 s to 9.3–9.5 s
 * (bench/batch-http.ts). The copies are appended to a few large segment files: a file per copy cost
 * the upload as much as the read saved (a file creation each, on the machines measured).
 *
 * The database stays the truth. A copy is only ever read by the process that wrote it (the index is in
 * its memory; its folder is removed once it is gone), so neither a crash, nor a power loss (nothing is
 * flushed), nor another instance can make a copy disagree with its row; a missing copy (another instance
 * staged it, a write failed, it was read already) is a read from the database.
 */
export class ProcessLocalCopies {
  readonly #copies = new Map<string, Copy>();
  readonly #segments = new Set<Segment>();
  #current?: Segment;
  #opening?: Promise<Segment>;
  #sequence = 0;

  private constructor(private readonly folder: string) {}

  /** A folder of this process under `root`; the folders of processes that are gone are removed. */
  static async open(root: string): Promise<ProcessLocalCopies> {
    await mkdir(root, { recursive: true });
    for (const name of await readdir(root)) {
      const pid = Number(name.split('-')[0]);
      // One with this process's pid is an earlier process's (a container's pid 1 after a restart).
      if (!Number.isSafeInteger(pid) || pid === process.pid || !processIsRunning(pid)) await rm(path.join(root, name), { recursive: true, force: true });
    }
    const folder = path.join(root, `${process.pid}-${randomIdentifierBytes(6).toString('hex')}`);
    await mkdir(folder);
    return new ProcessLocalCopies(folder);
  }

  /** Keeps a copy of `key`'s bytes; one that cannot be written only costs a database read later. */
  async put(key: string, buffers: readonly Buffer[]): Promise<void> {
    const length = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    if (length > SEGMENT_BYTES) return;
    let segment: Segment | undefined;
    try {
      segment = await this.#segmentFor(length);
      // The offset is taken before the write, so copies written at once never overlap.
      const offset = segment.end;
      segment.end += length;
      segment.live++;
      await segment.handle.writev(buffers as Buffer[], offset);
      this.drop(key);
      this.#copies.set(key, { segment, offset, length });
    } catch {
      // No copy: the signer reads the database.
      if (segment) this.#release(segment);
    }
  }

  /** The copy of `key`, gone once read (an input is signed once; a retry reads the database). */
  async take(key: string): Promise<Buffer | undefined> {
    const copy = this.#copies.get(key);
    if (!copy) return undefined;
    this.#copies.delete(key);
    try {
      const bytes = Buffer.allocUnsafe(copy.length);
      const { bytesRead } = await copy.segment.handle.read(bytes, 0, copy.length, copy.offset);
      return bytesRead === copy.length ? bytes : undefined;
    } catch {
      return undefined;
    } finally {
      this.#release(copy.segment);
    }
  }

  drop(key: string): void {
    const copy = this.#copies.get(key);
    if (!copy) return;
    this.#copies.delete(key);
    this.#release(copy.segment);
  }

  /** At a clean stop: what was not read yet is read from the database by whoever signs it. */
  async close(): Promise<void> {
    this.#copies.clear();
    await this.#opening?.catch(() => {});
    for (const segment of this.#segments) await segment.handle.close().catch(() => {});
    this.#segments.clear();
    await rm(this.folder, { recursive: true, force: true });
  }

  /** The segment that takes the next `length` bytes: the current one, or a new one (one at a time). */
  async #segmentFor(length: number): Promise<Segment> {
    for (;;) {
      if (this.#opening) {
        await this.#opening;
        continue;
      }
      const current = this.#current;
      if (current && current.end + length <= SEGMENT_BYTES) return current;
      this.#opening = this.#newSegment();
      try {
        this.#current = await this.#opening;
      } finally {
        this.#opening = undefined;
      }
      if (current) this.#seal(current);
      this.#dropOldSegments();
    }
  }

  async #newSegment(): Promise<Segment> {
    const file = path.join(this.folder, `segment-${this.#sequence++}`);
    const segment: Segment = { file, handle: await open(file, 'w+'), createdAt: Date.now(), live: 0, end: 0, sealed: false };
    this.#segments.add(segment);
    return segment;
  }

  #seal(segment: Segment): void {
    segment.sealed = true;
    if (segment.live === 0) this.#remove(segment);
  }

  /** One copy less in `segment`; a sealed segment that holds none is deleted. */
  #release(segment: Segment): void {
    segment.live--;
    if (segment.sealed && segment.live === 0) this.#remove(segment);
  }

  #remove(segment: Segment): void {
    if (!this.#segments.delete(segment)) return;
    void segment.handle
      .close()
      .catch(() => {})
      .finally(() => rm(segment.file, { force: true }));
  }

  /** Copies nobody took within the hour (another instance signed those documents) go with their segment. */
  #dropOldSegments(): void {
    const now = Date.now();
    for (const segment of this.#segments) {
      if (!segment.sealed || now - segment.createdAt < SEGMENT_MAX_AGE_MS) continue;
      for (const [key, copy] of this.#copies) if (copy.segment === segment) this.#copies.delete(key);
      this.#remove(segment);
    }
  }
}
