import { createHash } from 'node:crypto';
import { constants, watch, type FSWatcher } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSignetError, SignetError } from '../../errors/signet-error.js';
import type { Logger } from '../../util/logger.js';
import { mapLimit } from '../../util/map-limit.js';
import { uuid7 } from '../../util/uuid7.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import type { OperationDocument } from '../signatures/operation-document.js';
import type { SignatureOptions } from '../signatures/signature-options.js';
import { copySignedBlobTo, findSignatureOperationsByReference, getSignatureOperation, signedFileName, type SignatureOperation } from '../signatures/signature-queries.js';
import { UploadStager } from '../signatures/stage-document.js';
import { submitSignatureOperation } from '../signatures/submit-signature-operation.js';
import { isFinal, waitForTask } from '../tasks/task-queries.js';
import { flushAll, fsyncPath } from '../../util/durable-files.js';
import { moveFile, releaseName, removeStaleReservations, reservationMark, reserveName, temporaryNameOf, touchReservation, writeJsonWhole, writeUnflushed } from './folder-files.js';

/** One client's hot folder (client-services-config.json `hotFolder`), its paths resolved. */
export interface HotFolderSettings {
  client: ClientIdentity;
  input: string;
  backup: string;
  output: string;
  signature: SignatureOptions;
  /** Where claimed files wait, inside the work folder: one folder per batch. */
  processing: string;
  settleMs: number;
  maxDocuments: number;
  log: Logger;
}

interface Seen {
  size: number;
  mtimeMs: number;
  since: number;
}

/** What a batch folder says once every file of it was claimed. */
interface BatchRecord {
  files: string[];
}

/** How one document of a finished batch leaves: where its output and original go (decided once, before any rename). */
interface Plan {
  /**
   * The document's status and id when planned: what its files are (signed output or error texts) and
   * whose marks hold its names. A document whose status changed since (refused, then accepted after a
   * restart; an operator retry) keeps a plan already written, and is planned again otherwise.
   */
  status: OperationDocument['status'];
  id: string;
  output: string;
  backup: string;
  /** FAILED documents: the text beside the original in backup. */
  backupError?: string;
  /**
   * Its new files are complete and flushed under their temporary names: from here a restart renames
   * what is still under a temporary name and writes nothing again — a missing output was delivered
   * (and perhaps taken away by the consumer), not lost.
   */
  written?: true;
}

/** A batch being finished in this process: its plans (loaded once, saved whole) and the documents already done. */
class BatchFinishing {
  readonly placed = new Set<string>();
  #plans?: Map<string, Plan>;

  constructor(
    readonly batch: string,
    readonly folder: string,
  ) {}

  /** Plans were read back from the batch folder (a restart, a retry), not all made by this run. */
  resumed = false;
  touched = false;

  async plans(): Promise<Map<string, Plan>> {
    if (!this.#plans) {
      const saved = await readJson<Record<string, Plan>>(path.join(this.folder, PLANS_FILE));
      this.resumed = saved !== undefined;
      this.#plans = new Map(Object.entries(saved ?? {}));
    }
    return this.#plans;
  }

  async savePlans(): Promise<void> {
    await writeJsonWhole(path.join(this.folder, PLANS_FILE), Object.fromEntries(await this.plans()));
  }
}

/** Hidden: a claimed file is never hidden (hidden input files are not taken), so no input can be named like it. */
const BATCH_FILE = '.batch.json';
const PLANS_FILE = '.plans.json';
/** A batch whose submission was refused for good: a restart must not stage it again (its files may be gone in part). */
const REFUSED_FILE = '.refused.json';

interface Refusal {
  code: string;
  message: string;
}
/** Batches in flight at once per client (staging reads up to 8 files at a time, 1 MiB each at most). */
const MAX_RUNNING_BATCHES = 4;
const RETRY_MS = [5_000, 15_000, 60_000, 300_000];
const STAT_CONCURRENCY = 32;
/** A reservation of a batch no instance here has is removed after this long (instances elsewhere may share the output folder). */
const STALE_RESERVATION_MS = 24 * 60 * 60 * 1000;
const FINISH_CONCURRENCY = 16;
/** While a batch is signed, its finished documents are put in place about this often, at least this many at a time. */
const PROGRESS_MS = 1000;
const PROGRESS_MIN_DOCUMENTS = 16;
const ignored = (name: string) => name.startsWith('.') || /\.(tmp|part)$/i.test(name);

/**
 * The Sign'Stash hot folder (API.md §12) over core: a file that keeps its size and time for
 * `settleMs` is claimed by an atomic rename into a batch folder of the processing area (of two
 * instances sharing a folder, one rename wins), the batch becomes one ordinary signature operation
 * (`externalReference` hot-folder:<batch>, visible in /v1/tasks, with callbacks), and as its documents
 * are signed each signed file goes to `output` and each original to `backup` — or an `.error.txt` to both.
 *
 * Exactly once across crashes: a batch folder is the state. Claimed but not recorded → recorded from
 * what it holds; recorded → its operation is found by reference or submitted (a replay answers the same
 * task); a document final → its plan (output and backup names) is written before anything, then that
 * its files are written, then they are renamed and the original moves last; a restart completes the
 * same plan and never writes a delivered output twice. Outputs appear whole (temporary name, flush,
 * rename); a name already present in output or backup is never overwritten.
 */
export class HotFolder {
  readonly #seen = new Map<string, Seen>();
  readonly #running = new Set<Promise<void>>();
  #timer?: NodeJS.Timeout;
  #watcher?: FSWatcher;
  #scanning?: Promise<void>;
  #lastScan = 0;
  #stopped = false;
  readonly #stopping = new AbortController();

  constructor(
    private readonly context: CoreContext,
    private readonly settings: HotFolderSettings,
  ) {}

  async start(): Promise<void> {
    const { input, backup, output, processing } = this.settings;
    for (const folder of [input, backup, output, processing]) await mkdir(folder, { recursive: true });
    // Claiming is a rename: across file systems it would be a copy, and two instances could both take a file.
    if ((await stat(input)).dev !== (await stat(processing)).dev) {
      throw new SignetError('invalid_request', `The hot folder ${input} is on another file system than the work folder; files cannot be claimed atomically`);
    }
    // What a crash left: reservations of batches that no longer exist (a day old), then the batches
    // a previous run left (a crash, a stop mid-way), finished first.
    const live = await liveBatches(path.dirname(path.dirname(processing)));
    for (const folder of new Set([output, backup])) await removeStaleReservations(folder, (batch) => live.has(batch), STALE_RESERVATION_MS);
    for (const batch of await readdir(processing)) this.#track(batch);
    const every = Math.min(1000, Math.max(50, Math.floor(this.settings.settleMs / 4)));
    this.#timer = setInterval(() => this.#scanSoon(), every);
    try {
      // An event starts a scan at once (a new file is seen sooner), but not within half a period of the
      // last one: 2,500 files dropped at once were a storm of events and ten scans of 2,500 stats each.
      this.#watcher = watch(input, () => {
        if (performance.now() - this.#lastScan >= every / 2) this.#scanSoon();
      });
      this.#watcher.on('error', () => {});
    } catch {
      // No fs events here (some network file systems): the periodic scan does the work.
    }
    this.#scanSoon();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    clearInterval(this.#timer);
    this.#watcher?.close();
    await this.#scanning;
    await Promise.allSettled([...this.#running]);
  }

  /** Runs a batch; a failure (a database outage, an unreadable file) is retried with growing delays until it passes or the folder stops. */
  #track(batch: string, attempt = 0): void {
    const tracked = this.#runBatch(batch)
      .catch(async (error: unknown) => {
        const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!;
        this.settings.log.warn({ err: (error as Error).message, client: this.settings.client.id, batch, retryInMs: delay }, 'hot folder: a batch failed; retrying');
        // Cut short by stop(), which would otherwise wait out a delay of up to five minutes.
        const waited = await sleep(delay, true, { signal: this.#stopping.signal, ref: false }).catch(() => false);
        if (waited && !this.#stopped) this.#track(batch, attempt + 1);
      })
      .finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
  }

  #scanSoon(): void {
    if (this.#stopped || this.#scanning) return;
    this.#lastScan = performance.now();
    this.#scanning = this.#scan()
      .catch((error: unknown) => this.settings.log.warn({ err: (error as Error).message, input: this.settings.input }, 'hot folder: scanning the input failed'))
      .finally(() => (this.#scanning = undefined));
  }

  /** Files whose size and time have not changed for settleMs are claimed together as one batch. */
  async #scan(): Promise<void> {
    const now = Date.now();
    const present = new Set<string>();
    const stable: string[] = [];
    const names = (await readdir(this.settings.input, { withFileTypes: true })).filter((entry) => entry.isFile() && !ignored(entry.name)).map((entry) => entry.name);
    // Stats in parallel: a folder of 2,500 files was a 100 ms scan one stat after the other.
    const infos = await mapLimit(names, STAT_CONCURRENCY, (name) => stat(path.join(this.settings.input, name)).catch(() => undefined));
    names.forEach((name, index) => {
      present.add(name);
      const info = infos[index];
      if (!info) return;
      const seen = this.#seen.get(name);
      if (!seen || seen.size !== info.size || seen.mtimeMs !== info.mtimeMs) {
        this.#seen.set(name, { size: info.size, mtimeMs: info.mtimeMs, since: now });
      } else if (now - seen.since >= this.settings.settleMs) {
        stable.push(name);
      }
    });
    for (const name of this.#seen.keys()) if (!present.has(name)) this.#seen.delete(name);
    if (stable.length === 0 || this.#stopped) return;
    for (let start = 0; start < stable.length; start += this.settings.maxDocuments) {
      if (this.#running.size >= MAX_RUNNING_BATCHES) return;
      const batch = await this.#claim(stable.slice(start, start + this.settings.maxDocuments).sort());
      if (batch) this.#track(batch);
    }
  }

  /**
   * Moves the files into a new batch folder and records them; a file another instance took first is
   * simply not there, one that cannot be moved (permissions) stays in input and is said in the log.
   */
  async #claim(names: string[]): Promise<string | undefined> {
    const batch = uuid7();
    const folder = path.join(this.settings.processing, batch);
    await mkdir(folder);
    const claimed: string[] = [];
    try {
      for (const name of names) {
        try {
          await rename(path.join(this.settings.input, name), path.join(folder, name));
          claimed.push(name);
          this.#seen.delete(name);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          this.settings.log.warn({ file: name, input: this.settings.input, err: (error as Error).message }, 'hot folder: a file cannot be taken; it stays in input');
        }
      }
    } finally {
      if (claimed.length > 0) await writeJsonWhole(path.join(folder, BATCH_FILE), { files: claimed } satisfies BatchRecord);
      else await rmdir(folder).catch(() => {});
    }
    return claimed.length > 0 ? batch : undefined;
  }

  async #runBatch(batch: string): Promise<void> {
    const folder = path.join(this.settings.processing, batch);
    const record = await this.#record(folder);
    if (!record) return;
    const started = performance.now();
    let submittedAt = started;
    let signedAt = started;
    const finishing = new BatchFinishing(batch, folder);
    // Refused before a restart: finished as such (its files may be placed in part; it was never submitted).
    let refusal = await readJson<Refusal>(path.join(folder, REFUSED_FILE));
    let operation: SignatureOperation | undefined;
    if (!refusal) {
      try {
        operation = await this.#operationOf(batch, folder, record);
      } catch (error) {
        // Refused for good (a key the client may not use, an invalid option): each file gets its .error.txt.
        if (!isSignetError(error) || error.transient || error.status >= 500) throw error;
        refusal = { code: error.code, message: error.message };
        await writeJsonWhole(path.join(folder, REFUSED_FILE), refusal);
      }
    }
    let documents: OperationDocument[];
    if (operation) {
      submittedAt = performance.now();
      const finished = await this.#waitUntilFinished(operation, finishing);
      signedAt = performance.now();
      if (!finished) return;
      documents = finished.documents.map((document) => (document.status === 'RECEIVED' ? { ...document, status: 'FAILED' as const, error: finished.task.error } : document));
    } else {
      documents = record.files.map((name) => refusedDocument(batch, name, refusal!));
    }
    await this.#finishDocuments(finishing, documents);
    // The renames on disk before the batch folder (with its plan) goes.
    for (const target of new Set([this.settings.output, this.settings.backup])) await fsyncPath(target);
    await this.#removeBatchFolder(folder);
    const ms = (from: number, to: number) => Math.round(to - from);
    this.settings.log.info(
      { client: this.settings.client.id, batch, documents: documents.length, submitMs: ms(started, submittedAt), signMs: ms(submittedAt, signedAt), finishMs: ms(signedAt, performance.now()) },
      'hot folder: batch done',
    );
  }

  /** The batch's file list: recorded, or (claimed before a crash, never recorded) what the folder holds. */
  async #record(folder: string): Promise<BatchRecord | undefined> {
    const recorded = await readJson<BatchRecord>(path.join(folder, BATCH_FILE));
    if (recorded) return recorded;
    const files = (await readdir(folder).catch(() => [] as string[])).filter((name) => !name.startsWith('.')).sort();
    if (files.length === 0) {
      await rm(folder, { recursive: true, force: true });
      return undefined;
    }
    const record = { files };
    await writeJsonWhole(path.join(folder, BATCH_FILE), record);
    return record;
  }

  /** The batch's operation: found by its reference (after a restart), else submitted now. */
  async #operationOf(batch: string, folder: string, record: BatchRecord): Promise<SignatureOperation> {
    const reference = `hot-folder:${batch}`;
    const existing = (await findSignatureOperationsByReference(this.context, this.settings.client, reference)).find((operation) => operation.task.externalReference === reference);
    if (existing) return existing;
    const stager = new UploadStager(this.context.store);
    try {
      // The claimed files become the input blobs by hard link (read once for their digest, never copied):
      // copying 2,500 × 200 KB was 3 of the 14.5 s of bench/hot-folder.ts. Nothing changes a claimed file
      // until its document is final; then a signed one's original moves to backup (the blob is not read
      // again), a failed one's is copied there (an operator retry may read its blob).
      for (const name of record.files) await stager.stageFile(path.join(folder, name));
      const staged = await stager.finish();
      const { task } = await submitSignatureOperation(
        this.context,
        this.settings.client,
        { externalReference: reference, signature: this.settings.signature, documents: record.files.map((name) => ({ name, externalReference: name })) },
        staged,
      );
      return { task, documents: [] };
    } catch (error) {
      await stager.discard();
      throw error;
    }
  }

  /**
   * Waits for the operation to end, finishing its documents as they are signed (each SIGNED or FAILED
   * document is final: a replay of the task skips it): the last batch's outputs were written after its
   * signing, one to two seconds of 2,500 documents that now overlap it (bench/hot-folder.ts).
   */
  async #waitUntilFinished(operation: SignatureOperation, finishing: BatchFinishing): Promise<SignatureOperation | undefined> {
    let task = operation.task;
    while (!isFinal(task.status)) {
      if (this.#stopped) return undefined;
      task = await waitForTask(this.context, this.settings.client, task.id, PROGRESS_MS);
      if (isFinal(task.status)) break;
      const progress = await getSignatureOperation(this.context, this.settings.client, task.id);
      const done = progress.documents.filter((document) => document.status !== 'RECEIVED' && !finishing.placed.has(document.name));
      if (done.length >= PROGRESS_MIN_DOCUMENTS) await this.#finishDocuments(finishing, done);
    }
    return getSignatureOperation(this.context, this.settings.client, task.id);
  }

  /**
   * Puts finished documents in place by a plan written (and flushed) before any rename: every
   * document's output and backup names, reserved first. Then its new files are written under temporary
   * names and flushed together, the plan says so (`written`), and each is renamed into place; the
   * original moves last. A restart reads the plan and completes it: a document whose original has left
   * the batch folder is done; one whose files were written is renamed, never written again (its output
   * may already be delivered and taken away by the consumer); one not yet written is written.
   */
  async #finishDocuments(finishing: BatchFinishing, documents: readonly OperationDocument[]): Promise<void> {
    const plans = await finishing.plans();
    const originals = new Set(await readdir(finishing.folder));
    const pending: OperationDocument[] = [];
    for (const document of documents) {
      if (finishing.placed.has(document.name)) continue;
      const plan = plans.get(document.name);
      if (!originals.has(document.name)) {
        // Done before a crash; names it may still hold (the crash fell before their release) are freed.
        if (plan) await this.#releasePlan(finishing.batch, plan);
        finishing.placed.add(document.name);
        continue;
      }
      if (plan && plan.status !== document.status && !plan.written) {
        // Planned for another outcome, nothing delivered yet: its temporary files and names go, planned again.
        for (const target of this.#targetsOf(plan)) await unlink(temporaryNameOf(target)).catch(() => {});
        await this.#releasePlan(finishing.batch, plan);
        plans.delete(document.name);
      }
      pending.push(document);
    }
    const unplanned = pending.filter((document) => !plans.has(document.name));
    if (unplanned.length > 0) {
      const planned = await mapLimit(unplanned, FINISH_CONCURRENCY, (document) => this.#plan(finishing, document));
      unplanned.forEach((document, index) => plans.set(document.name, planned[index]!));
      await finishing.savePlans();
    }
    if (finishing.resumed && !finishing.touched) {
      // Restarted (or retried) with plans to complete: their reservations are touched, so that the
      // start-up sweep of another instance sharing the folders does not take them for a crash's leftovers.
      finishing.touched = true;
      const now = new Date();
      const held = pending.flatMap((document) => this.#reservationsOf(finishing.batch, plans.get(document.name)!));
      await mapLimit(held, FINISH_CONCURRENCY, ({ folder, name }) => touchReservation(folder, name, now));
    }
    const toWrite = pending.filter((document) => !plans.get(document.name)!.written);
    if (toWrite.length > 0) {
      const written = await mapLimit(toWrite, FINISH_CONCURRENCY, (document) => this.#writeFiles(finishing.folder, document, plans.get(document.name)!));
      await flushAll(written.flat());
      for (const document of toWrite) plans.get(document.name)!.written = true;
      await finishing.savePlans();
    }
    let failure: unknown;
    await mapLimit(pending, FINISH_CONCURRENCY, async (document) => {
      try {
        await this.#placeDocument(finishing, document, plans.get(document.name)!);
        finishing.placed.add(document.name);
        // Done: its plan is not needed again (a restart sees the original gone), nor rewritten with every pass.
        plans.delete(document.name);
      } catch (error) {
        failure ??= error;
      }
    });
    if (failure) throw failure;
  }

  /** Where a document's files go (each written under temporaryNameOf(target)); a failed document's original is copied to backup. */
  #targetsOf(plan: Plan): string[] {
    const { output, backup } = this.settings;
    const targets = [path.join(output, plan.output)];
    if (plan.backupError) targets.push(path.join(backup, plan.backupError));
    if (plan.status !== 'SIGNED') targets.push(path.join(backup, plan.backup));
    return targets;
  }

  /** The names a plan holds, each with its folder and the mark that reserved it. */
  #reservationsOf(batch: string, plan: Plan): Array<{ folder: string; name: string; mark: string }> {
    const { output, backup } = this.settings;
    const mark = (role: string) => reservationMark(batch, plan.id, role);
    return [
      { folder: output, name: plan.output, mark: mark('output') },
      { folder: backup, name: plan.backup, mark: mark('backup') },
      ...(plan.backupError ? [{ folder: backup, name: plan.backupError, mark: mark('error') }] : []),
    ];
  }

  /** The document's new files under their temporary names (answered, to be flushed). */
  async #writeFiles(folder: string, document: OperationDocument, plan: Plan): Promise<string[]> {
    const [outputFile, ...backupFiles] = this.#targetsOf(plan);
    const temporaries: string[] = [];
    if (document.status === 'SIGNED') {
      const temporary = temporaryNameOf(outputFile!);
      await copySignedBlobTo(this.context, document, temporary);
      temporaries.push(temporary);
    } else {
      temporaries.push(await writeUnflushed(outputFile!, errorText(document)));
      temporaries.push(await writeUnflushed(backupFiles[0]!, errorText(document)));
      // Its input blob shares the original's file (stageFile) and a retry may sign it: backup gets a copy of its own.
      const copy = temporaryNameOf(backupFiles[1]!);
      await copyFile(path.join(folder, document.name), copy, constants.COPYFILE_FICLONE);
      temporaries.push(copy);
    }
    return temporaries;
  }

  /** Reserves the names one document leaves under (reservations carry the batch and document, so a restart finds them again). */
  async #plan(finishing: BatchFinishing, document: OperationDocument): Promise<Plan> {
    const { output, backup } = this.settings;
    const signed = document.status === 'SIGNED';
    const mark = (role: string) => reservationMark(finishing.batch, document.id, role);
    const outputName = await reserveName(output, signed ? signedFileName(document) : `${document.name}.error.txt`, mark('output'));
    const backupName = await reserveName(backup, document.name, mark('backup'));
    return {
      status: document.status,
      id: document.id,
      output: outputName,
      backup: backupName,
      ...(!signed && { backupError: await reserveName(backup, `${backupName}.error.txt`, mark('error')) }),
    };
  }

  /**
   * One written document by its plan: each file still under its temporary name renamed into place (one
   * already gone was renamed before a crash), then the original moved to backup (the step that says it
   * is done; a failed document's was copied there), then its names released.
   */
  async #placeDocument(finishing: BatchFinishing, document: OperationDocument, plan: Plan): Promise<void> {
    for (const target of this.#targetsOf(plan)) {
      await rename(temporaryNameOf(target), target).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    const original = path.join(finishing.folder, document.name);
    if (plan.status === 'SIGNED') await moveFile(original, path.join(this.settings.backup, plan.backup));
    else await unlink(original);
    await this.#releasePlan(finishing.batch, plan);
  }

  async #releasePlan(batch: string, plan: Plan): Promise<void> {
    for (const { folder, name, mark } of this.#reservationsOf(batch, plan)) await releaseName(folder, name, mark);
  }

  /** Every original moved: what is left is the batch's own bookkeeping (and a write a crash cut short). */
  async #removeBatchFolder(folder: string): Promise<void> {
    const left = await readdir(folder).catch(() => [] as string[]);
    const originals = left.filter((name) => !name.startsWith('.'));
    if (originals.length > 0) {
      this.settings.log.warn({ folder, originals }, 'hot folder: files of a finished batch were not in its operation; they stay in the processing area');
      return;
    }
    await rm(folder, { recursive: true, force: true });
  }
}

/** Batch ids in every processing area under `root` (work/hot-folder/<client>/<instance>/<batch>). */
async function liveBatches(root: string): Promise<Set<string>> {
  const live = new Set<string>();
  const list = (folder: string) => readdir(folder).catch(() => [] as string[]);
  for (const client of await list(root)) {
    for (const instance of await list(path.join(root, client))) {
      for (const batch of await list(path.join(root, client, instance))) live.add(batch);
    }
  }
  return live;
}

function errorText(document: OperationDocument): string {
  const error = document.error ?? { code: 'internal_error', message: 'The document could not be signed' };
  return `${document.name}\n${error.code}: ${error.message}\n`;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  return readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as T,
    () => undefined,
  );
}

/** A file whose operation was refused before it existed: failed with the refusal. */
function refusedDocument(batch: string, name: string, error: Refusal): OperationDocument {
  return {
    id: `${batch}/${name}`,
    taskId: batch,
    position: 0,
    externalReference: name,
    name,
    contentType: 'application/octet-stream',
    status: 'FAILED',
    error: { code: error.code, message: error.message },
    format: 'CAdES',
    level: 'B-T',
    size: 0,
    signedSize: null,
    sha256: '',
    purgedAt: null,
  };
}

/**
 * The processing area of a client on one instance: inside the work folder, named by digests of the
 * client id (any characters) and of the instance's advertised address, so that instances sharing a
 * work folder (PostgreSQL, one volume) never resume each other's batches while both run; a restarted
 * instance (same --server.host.port) resumes its own.
 */
export function processingFolderOf(workFolder: string, clientId: string, instance: string): string {
  const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);
  return path.join(workFolder, 'hot-folder', digest(clientId), digest(instance));
}
