import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { basicAuth } from './support/test-service.js';
import { run } from './support/tools.js';
import { createWorkFolder, startChildService, type ChildService } from './support/child-service.js';

/**
 * Crash safety (DESIGN: a 202 means durable; the queue survives a crash; every task ends exactly
 * once): SIGKILL the real server while tasks are queued and running, restart it on the same work
 * folder, and check that every accepted task is signed exactly once.
 */

const AUTH = basicAuth('client-a', 'secret-a');
const TOTAL = 200;
const KILL_AFTER_ACCEPTED = Number(process.env.CRASH_KILL_AFTER ?? 40);
const SUBMIT_CONCURRENCY = 10;
/** Enough work per task that the two workers are still busy when the kill comes. */
const DOCUMENTS_PER_TASK = Number(process.env.CRASH_DOCS ?? 6);
const DOCUMENT_SIZE = Number(process.env.CRASH_DOC_SIZE ?? 16 * 1024);
/**
 * Default flags (lanes, 30 s lease): the restart must take back what the crash left RUNNING at once,
 * not after the lease, whatever the 32 idle registration slots do meanwhile (issue 11).
 */
const FLAGS: string[] = [];

const children: ChildService[] = [];
const folders: string[] = [];

after(async () => {
  await Promise.all(children.map((child) => child.kill()));
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const reference = (n: number) => `crash-${String(n).padStart(3, '0')}`;

/** Deterministic bytes per (task, document): the same submission can be sent again after the crash. */
function documentContent(ref: string, index: number): Buffer {
  const seed = createHash('sha256').update(`${ref}/${index}`).digest();
  const out = Buffer.alloc(DOCUMENT_SIZE);
  for (let offset = 0; offset < DOCUMENT_SIZE; offset += seed.length) seed.copy(out, offset);
  return out;
}

function submissionBody(ref: string): string {
  return JSON.stringify({
    externalReference: ref,
    signature: { format: 'CAdES', level: 'B-B' },
    documents: Array.from({ length: DOCUMENTS_PER_TASK }, (_, i) => ({
      name: `doc-${i}.bin`,
      contentType: 'application/octet-stream',
      content: documentContent(ref, i).toString('base64'),
    })),
  });
}

type Outcome = { ref: string; taskId: string; replayed: boolean } | { ref: string; error: string };

async function submit(baseUrl: string, ref: string): Promise<Outcome> {
  try {
    const response = await fetch(`${baseUrl}/v1/signatures`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: submissionBody(ref),
    });
    const text = await response.text();
    if (response.status === 202) return { ref, taskId: JSON.parse(text).taskId, replayed: false };
    if (response.status === 200 && response.headers.get('idempotent-replayed') === 'true') {
      return { ref, taskId: JSON.parse(text).taskId, replayed: true };
    }
    return { ref, error: `HTTP ${response.status}: ${text.slice(0, 300)}` };
  } catch (error) {
    return { ref, error: String((error as Error).cause ?? error) };
  }
}

/** Submits `refs` with a fixed concurrency; stops taking new ones once `shouldStop()` says so. */
async function submitAll(
  baseUrl: string,
  refs: string[],
  onOutcome: (outcome: Outcome) => void,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
      while (next < refs.length && !shouldStop()) {
        const ref = refs[next++];
        onOutcome(await submit(baseUrl, ref));
      }
    }),
  );
}

interface DbSnapshot {
  tasks: Array<{ id: string; external_reference: string; status: string; attempts: number }>;
  events: Array<{ task_id: string; event: string }>;
  documents: Array<{ id: string; task_id: string; status: string; position: number }>;
}

function readDatabase(workFolder: string): DbSnapshot {
  const db = new Database(path.join(workFolder, 'signet.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return {
      tasks: db.prepare('SELECT id, external_reference, status, attempts FROM tasks').all() as DbSnapshot['tasks'],
      events: db.prepare('SELECT task_id, event FROM task_events ORDER BY rowid').all() as DbSnapshot['events'],
      documents: db.prepare('SELECT id, task_id, status, position FROM documents').all() as DbSnapshot['documents'],
    };
  } finally {
    db.close();
  }
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

async function getJson(url: string): Promise<any> {
  const response = await fetch(url, { headers: { authorization: AUTH } });
  assert.equal(response.status, 200, `${url}: ${response.status}`);
  return response.json();
}

test('SIGKILL mid-batch, restart: every accepted task is signed exactly once', { timeout: 120_000 }, async () => {
  const t0 = Date.now();
  const workFolder = await createWorkFolder();
  folders.push(workFolder);
  const refs = Array.from({ length: TOTAL }, (_, n) => reference(n));

  // Phase 1: submit until enough were accepted, then SIGKILL while submissions are in flight.
  const first = await startChildService({ workFolder, flags: FLAGS });
  children.push(first);
  const acceptedBeforeKill = new Map<string, string>(); // ref → taskId
  const failedAtKill: string[] = [];
  let killed = false;
  await submitAll(
    first.url,
    refs,
    (outcome) => {
      if ('taskId' in outcome) {
        assert.equal(outcome.replayed, false, `${outcome.ref} was replayed before any retry`);
        acceptedBeforeKill.set(outcome.ref, outcome.taskId);
        if (acceptedBeforeKill.size >= KILL_AFTER_ACCEPTED && !killed) {
          killed = true;
          first.process.kill('SIGKILL');
        }
      } else {
        assert.ok(killed, `${outcome.ref} failed before the kill: ${outcome.error}`);
        failedAtKill.push(outcome.ref);
      }
    },
    () => killed,
  );
  const exit = await first.exited;
  assert.equal(exit.signal, 'SIGKILL');
  const tKill = Date.now();

  // What the crashed instance left on disk: every 202 is there, and work was still under way.
  const atKill = readDatabase(workFolder);
  const statusAtKill = new Map(atKill.tasks.map((t) => [t.id, t.status]));
  for (const [ref, taskId] of acceptedBeforeKill) {
    assert.ok(statusAtKill.has(taskId), `${ref} got 202 (${taskId}) but is not in the database after the crash`);
  }
  const unfinishedAtKill = [...acceptedBeforeKill.values()].filter((id) => statusAtKill.get(id) !== 'SUCCEEDED');
  const runningAtKill = atKill.tasks.filter((t) => t.status === 'RUNNING').map((t) => t.id);
  const statusCounts = Object.fromEntries(countBy(atKill.tasks, (t) => t.status));
  console.log(
    `kill after ${tKill - t0} ms: ${acceptedBeforeKill.size} accepted, ${failedAtKill.length} submissions cut off; ` +
      `database holds ${atKill.tasks.length} tasks ${JSON.stringify(statusCounts)}`,
  );
  assert.ok(acceptedBeforeKill.size >= 20, `only ${acceptedBeforeKill.size} accepted before the kill`);
  assert.ok(
    unfinishedAtKill.length > 0,
    'every accepted task had already SUCCEEDED at kill time: the crash proved nothing (make the workload slower)',
  );

  // Phase 2: restart on the same work folder; submit the rest (re-sending the cut-off ones).
  const second = await startChildService({ workFolder, flags: FLAGS });
  children.push(second);
  const tRestarted = Date.now();

  // A second `signet serve` on the same embedded work folder refuses to start, naming both.
  const intruder = await startChildService({ workFolder, flags: FLAGS }).then(
    (child) => {
      children.push(child);
      return undefined;
    },
    (error: Error) => error.message,
  );
  assert.ok(intruder, 'a second signet serve started on a work folder in use');
  assert.ok(
    intruder.includes(`the work folder ${workFolder} is in use by another signet serve (process ${second.pid} `),
    `the refusal names the folder and the holder: ${intruder}`,
  );
  const accepted = new Map(acceptedBeforeKill);
  let replays = 0;
  const rest = refs.filter((ref) => !accepted.has(ref));
  await submitAll(second.url, rest, (outcome) => {
    assert.ok('taskId' in outcome, `${outcome.ref} after restart: ${'error' in outcome ? outcome.error : ''}`);
    if (outcome.replayed) {
      // Only a submission cut off by the kill can already exist, and then it is the same task.
      replays += 1;
      assert.ok(failedAtKill.includes(outcome.ref), `${outcome.ref} replayed but was never sent before`);
      assert.equal(atKill.tasks.find((t) => t.external_reference === outcome.ref)?.id, outcome.taskId);
    }
    accepted.set(outcome.ref, outcome.taskId);
  });
  assert.equal(accepted.size, TOTAL);
  const ids = new Set(accepted.values());
  assert.equal(ids.size, TOTAL, 'two references share a task id');

  // Wait until every task is SUCCEEDED (FAILED or CANCELLED fails the test at once).
  const pending = new Set(ids);
  const deadline = Date.now() + 60_000;
  while (pending.size > 0) {
    assert.ok(Date.now() < deadline, `${pending.size} tasks not SUCCEEDED after 60 s`);
    const batch = [...pending];
    for (let i = 0; i < batch.length; i += 20) {
      await Promise.all(
        batch.slice(i, i + 20).map(async (id) => {
          const task = await getJson(`${second.url}/v1/tasks/${id}`);
          assert.ok(!['FAILED', 'CANCELLED'].includes(task.status), `task ${id} ended ${task.status}: ${JSON.stringify(task.error)}`);
          if (task.status === 'SUCCEEDED') pending.delete(id);
        }),
      );
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 200));
  }
  const tDone = Date.now();

  // A sample of signed documents verifies with openssl: tasks cut off mid-run first, then others.
  const caPath = path.join(workFolder, 'ca.pem');
  const caResponse = await fetch(`${second.url}/pki/ca.pem`);
  assert.equal(caResponse.status, 200);
  writeFileSync(caPath, await caResponse.text());
  const refOf = new Map([...accepted].map(([ref, id]) => [id, ref]));
  const sample = [...new Set([...runningAtKill.slice(0, 3), ...unfinishedAtKill.slice(0, 2), [...ids][0], [...ids][TOTAL - 1]])];
  let verified = 0;
  for (const id of sample) {
    const operation = await getJson(`${second.url}/v1/signatures/${id}`);
    assert.equal(operation.status, 'SUCCEEDED');
    assert.equal(operation.documents.length, DOCUMENTS_PER_TASK);
    for (const [index, document] of operation.documents.entries()) {
      assert.equal(document.status, 'SIGNED', JSON.stringify(document));
      const response = await fetch(`${second.url}${document.links.content}`, { headers: { authorization: AUTH } });
      assert.equal(response.status, 200);
      const signaturePath = path.join(workFolder, `${id}-${index}.p7s`);
      const contentPath = path.join(workFolder, `${id}-${index}.bin`);
      writeFileSync(signaturePath, Buffer.from(await response.arrayBuffer()));
      writeFileSync(contentPath, documentContent(refOf.get(id)!, index));
      const result = run('openssl', [
        'cms', '-verify', '-binary', '-inform', 'DER', '-in', signaturePath,
        '-content', contentPath, '-CAfile', caPath, '-out', '/dev/null',
      ]);
      assert.equal(result.status, 0, `${id} document ${index}: ${result.stderr}`);
      verified += 1;
    }
  }

  // Graceful shutdown: SIGTERM drains and exits 0 (the 30 s bound only catches a hang; no speed is asserted).
  const tTerm = Date.now();
  second.process.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    second.exited,
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 30_000))),
  ]);
  clearTimeout(timer);
  assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM: ${JSON.stringify(stopped)}\n${second.logs.slice(-10).join('\n')}`);
  const termMs = Date.now() - tTerm;

  // The database after a clean stop: 200 tasks, all SUCCEEDED, each succeeded exactly once.
  const final = readDatabase(workFolder);
  assert.equal(final.tasks.length, TOTAL, 'tasks in the database');
  assert.deepEqual(new Set(final.tasks.map((t) => t.id)), ids);
  assert.deepEqual(new Set(final.tasks.map((t) => t.external_reference)), new Set(refs));
  for (const task of final.tasks) assert.equal(task.status, 'SUCCEEDED', `${task.external_reference} is ${task.status}`);
  const succeededEvents = countBy(final.events.filter((e) => e.event === 'succeeded'), (e) => e.task_id);
  for (const id of ids) assert.equal(succeededEvents.get(id) ?? 0, 1, `task ${id} has ${succeededEvents.get(id) ?? 0} succeeded events`);
  assert.equal(final.events.filter((e) => e.event === 'failed').length, 0, 'failed events');
  assert.equal(final.documents.length, TOTAL * DOCUMENTS_PER_TASK);
  for (const document of final.documents) assert.equal(document.status, 'SIGNED', `document ${document.id} is ${document.status}`);
  // The tasks the crash interrupted while RUNNING were claimed again after the restart.
  const claims = countBy(final.events.filter((e) => e.event === 'claimed'), (e) => e.task_id);
  for (const id of runningAtKill) assert.ok((claims.get(id) ?? 0) >= 2, `task ${id} was RUNNING at the kill but claimed ${claims.get(id)} time(s)`);
  // … at start, because their owner was known to be gone: not after the 30 s lease.
  const recovered = new Set(final.events.filter((e) => e.event === 'lease-recovered').map((e) => e.task_id));
  for (const id of runningAtKill) assert.ok(recovered.has(id), `task ${id} was RUNNING at the kill but its lease was not taken back at start`);

  console.log(
    `crash test: kill at ${tKill - t0} ms (${acceptedBeforeKill.size} accepted, ${unfinishedAtKill.length} unfinished, ` +
      `${runningAtKill.length} RUNNING, taken back at the restart), all ${TOTAL} SUCCEEDED ${tDone - tRestarted} ms after the restart, ${replays} idempotent replays, ` +
      `${verified} signatures verified, SIGTERM exit in ${termMs} ms, total ${Date.now() - t0} ms`,
  );
});
