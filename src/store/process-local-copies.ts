import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { processIsRunning } from '../util/process-liveness.js';
import { randomIdentifierBytes } from '../util/random-identifier-bytes.js';

/** A segment takes copies until it holds this much; the next copy starts a new one. */
const SEGMENT_BYTES = 64 * 1024 * 1024;
/** A sealed segment whose copies were not all read within this time goes whole (another instance signed them, CAdES never reads). */
const SEGMENT_MAX_AGE_MS = 10 * 60 * 1000;
/** At most this much on disk at once (16 segments, 16 file handles): beyond it, inputs are not copied. */
const MAX_BYTES = 1024 * 1024 * 1024;

interface Segment {
  file: string;
  handle: FileHandle;
  createdAt: number;
  /** Bytes handed out so far (the next copy's offset). */
  end: number;
  /** Writes and reads in flight. */
  pending: number;
  /** No longer written to (since when): deleted once it holds no copy, or when it is too old. */
  sealedAt?: number;
  /** The keys of its copies not yet taken or dropped. */
  keys: Set<string>;
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
  readonly #sweeper: NodeJS.Timeout;
  #current?: Segment;
  #opening?: Promise<Segment>;
  #sequence = 0;

  private constructor(private readonly folder: string) {
    this.#sweeper = setInterval(() => this.#dropOldSegments(), 60_000).unref();
  }

  /**
   * A folder of this process under `root` (on this machine: a temporary folder, not the work folder that
   * instances may share — in containers each is pid 1); the folders of processes that are gone are removed.
   */
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

  /** Keeps a copy of `key`'s bytes; one that cannot be written (or no room) only costs a database read later. */
  async put(key: string, buffers: readonly Buffer[]): Promise<void> {
    this.drop(key);
    const length = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    if (length > SEGMENT_BYTES) return;
    let place: { segment: Segment; offset: number } | undefined;
    try {
      place = await this.#reserve(length);
      if (!place) return;
      const { bytesWritten } = await place.segment.handle.writev(buffers as Buffer[], place.offset);
      // A short write (a full disk) would leave a gap that reads back as zeros: no copy then.
      if (bytesWritten !== length) throw new Error('short write');
      place.segment.keys.add(key);
      this.#copies.set(key, { segment: place.segment, offset: place.offset, length });
    } catch {
      // No copy: the signer reads the database.
    } finally {
      if (place) this.#settle(place.segment);
    }
  }

  /** The copy of `key`, gone once read (an input is signed once; a retry reads the database). */
  async take(key: string): Promise<Buffer | undefined> {
    const copy = this.#copies.get(key);
    if (!copy) return undefined;
    this.#copies.delete(key);
    copy.segment.pending++;
    try {
      const bytes = Buffer.allocUnsafe(copy.length);
      const { bytesRead } = await copy.segment.handle.read(bytes, 0, copy.length, copy.offset);
      return bytesRead === copy.length ? bytes : undefined;
    } catch {
      return undefined;
    } finally {
      copy.segment.keys.delete(key);
      this.#settle(copy.segment);
    }
  }

  drop(key: string): void {
    const copy = this.#copies.get(key);
    if (!copy) return;
    this.#copies.delete(key);
    copy.segment.keys.delete(key);
    this.#settle(copy.segment, false);
  }

  /** At a clean stop: what was not read yet is read from the database by whoever signs it. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#copies.clear();
    await this.#opening?.catch(() => {});
    for (const segment of this.#segments) await segment.handle.close().catch(() => {});
    this.#segments.clear();
    await rm(this.folder, { recursive: true, force: true });
  }

  /**
   * Room for `length` bytes: in the current segment, or a new one (one opened at a time). Taken at
   * once after the check, so copies written together never overlap nor overfill a segment; undefined
   * when the copies already hold MAX_BYTES.
   */
  async #reserve(length: number): Promise<{ segment: Segment; offset: number } | undefined> {
    for (;;) {
      if (this.#opening) {
        await this.#opening;
        continue;
      }
      const current = this.#current;
      if (current && current.end + length <= SEGMENT_BYTES) {
        const offset = current.end;
        current.end += length;
        current.pending++;
        return { segment: current, offset };
      }
      if (this.#segments.size * SEGMENT_BYTES >= MAX_BYTES) {
        this.#dropOldSegments();
        if (this.#segments.size * SEGMENT_BYTES >= MAX_BYTES) return undefined;
      }
      this.#opening = this.#newSegment();
      try {
        this.#current = await this.#opening;
      } finally {
        this.#opening = undefined;
      }
      if (current) {
        current.sealedAt = Date.now();
        this.#settle(current, false);
      }
    }
  }

  async #newSegment(): Promise<Segment> {
    // The folder again, should something have removed it.
    await mkdir(this.folder, { recursive: true });
    const file = path.join(this.folder, `segment-${this.#sequence++}`);
    const segment: Segment = { file, handle: await open(file, 'w+'), createdAt: Date.now(), end: 0, pending: 0, keys: new Set() };
    this.#segments.add(segment);
    return segment;
  }

  /** After a read or write (`finished`) or any change: a sealed segment with no copy left and nothing in flight is deleted. */
  #settle(segment: Segment, finished = true): void {
    if (finished && segment.pending > 0) segment.pending--;
    if (segment.sealedAt !== undefined && segment.keys.size === 0 && segment.pending === 0) this.#remove(segment);
  }

  #remove(segment: Segment): void {
    if (!this.#segments.delete(segment)) return;
    for (const key of segment.keys) this.#copies.delete(key);
    void segment.handle
      .close()
      .catch(() => {})
      .finally(() => rm(segment.file, { force: true }))
      .catch(() => {});
  }

  /** Sealed segments whose copies nobody took within SEGMENT_MAX_AGE_MS of sealing go whole. */
  #dropOldSegments(): void {
    const now = Date.now();
    for (const segment of this.#segments) {
      if (segment.sealedAt !== undefined && now - segment.sealedAt >= SEGMENT_MAX_AGE_MS && segment.pending === 0) this.#remove(segment);
    }
  }
}
