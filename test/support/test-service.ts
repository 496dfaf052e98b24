import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { parseServeConfig } from '../../src/config/serve-config.js';
import { startService, type RunningService } from '../../src/cli/service.js';
import { openStore, type Store } from '../../src/store/store.js';

/**
 * The stores the integration tests run against: always the embedded one, and PostgreSQL too
 * when SIGNET_TEST_DATABASE_URL names a server (CI sets it).
 */
export function testStores(): Array<'sqlite' | 'postgres'> {
  return process.env.SIGNET_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** A store alone (no service) on a fresh folder, and a fresh database for PostgreSQL; `close` removes both. */
export async function openTestStore(kind: 'sqlite' | 'postgres'): Promise<{ store: Store; close(): Promise<void> }> {
  const folder = await mkdtemp(path.join(tmpdir(), 'signet-store-'));
  const database = kind === 'postgres' ? await createTestDatabase() : undefined;
  const store = await openStore({ workFolder: folder, databaseUrl: database?.url });
  return {
    store,
    async close() {
      await store.close();
      await database?.drop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

export interface TestService extends RunningService {
  workFolder: string;
  clientId: string;
  secret: string;
  stop(): Promise<void>;
}

/** A fresh PostgreSQL database for one test service, dropped afterwards. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.SIGNET_TEST_DATABASE_URL!;
  const name = `signet_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Starts the real service on an ephemeral port with a temporary work folder and two clients. */
export async function startTestService(
  options: {
    store?: 'sqlite' | 'postgres';
    flags?: string[];
    clients?: Record<string, unknown>;
    /** Join an existing PostgreSQL database (several instances sharing one) instead of a fresh one. */
    databaseUrl?: string;
    /** Extra files to write into the work folder before starting (e.g. signing-keys.json). */
    files?: Record<string, string | Buffer>;
    /** Use this work folder instead of a new temporary one. */
    workFolder?: string;
  } = {},
): Promise<TestService> {
  const workFolder = options.workFolder ?? (await mkdtemp(path.join(tmpdir(), 'signet-test-')));
  const clients = options.clients ?? {
    'client-a': { secret: 'secret-a' },
    'client-b': { secret: 'secret-b' },
  };
  await writeFile(path.join(workFolder, 'client-services-config.json'), JSON.stringify(clients, null, 2));
  for (const [name, content] of Object.entries(options.files ?? {})) await writeFile(path.join(workFolder, name), content);
  const database = options.databaseUrl
    ? { url: options.databaseUrl, drop: async () => {} }
    : options.store === 'postgres'
      ? await createTestDatabase()
      : undefined;
  const argv = [
    '--port=0',
    '--host=127.0.0.1',
    `--work-folder=${workFolder}`,
    '--workers=2',
    '--log-level=silent',
    ...(database ? [`--database-url=${database.url}`] : []),
    ...(options.flags ?? []),
  ];
  const config = parseServeConfig(argv, {});
  const service = await startService(config, pino({ level: process.env.SIGNET_TEST_LOG ?? 'silent' }));
  return {
    ...service,
    workFolder,
    clientId: 'client-a',
    secret: 'secret-a',
    async stop() {
      await service.close({ graceMs: 2000 });
      await database?.drop();
      await rm(workFolder, { recursive: true, force: true });
    },
  };
}

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

export async function getToken(baseUrl: string, clientId: string, secret: string): Promise<string> {
  const response = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (response.status !== 200) throw new Error(`token request answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Polls GetTaskInfo until the task is final. */
export async function waitUntilFinal(baseUrl: string, authorization: string, taskId: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${baseUrl}/v1/tasks/${taskId}`, { headers: { authorization } });
    const task = (await response.json()) as any;
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(task.status)) return task;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${task.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
