import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { openDatabase } from '../../src/store/database.js';
import { startChildServer, type ChildServer } from './child-server.js';

/**
 * Small-file registrations end to end through the HTTP API, the load bench/registrations.ts and
 * bench/instances.ts share: N JSON submissions (distinct 1 KB contents, one user) from C concurrent
 * clients spread over the given instances, until every task is SUCCEEDED with a RID. Servers are
 * `signet serve` processes of their own, as deployed.
 */
export interface RegistrationFigures {
  acceptedPerSecond: number;
  registeredPerSecond: number;
  totalMs: number;
}

const CONCURRENCY = 32;
const adminUrl = process.env.SIGNET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database on SIGNET_TEST_DATABASE_URL's server (never the admin database itself), dropped by `drop`. */
export async function benchDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `signet_bench_${label}_${process.pid}`;
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(text);
    await client.end();
  };
  await admin(`CREATE DATABASE ${name}`);
  return { url: Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** How each file is submitted: the native JSON route, or SubmitFileRegistrationTask over SOAP 1.1 (API.md §10). */
export type RegistrationSurface = 'rest' | 'soap';

export async function registrationLoad(options: {
  count: number;
  store: 'sqlite' | 'postgres';
  instances?: number;
  surface?: RegistrationSurface;
}): Promise<RegistrationFigures> {
  const instances = options.instances ?? 1;
  const database = options.store === 'postgres' ? await benchDatabase('reg') : undefined;
  const folders: string[] = [];
  const servers: ChildServer[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      const work = await mkdtemp(path.join(tmpdir(), 'signet-bench-reg-'));
      folders.push(work);
      await writeFile(path.join(work, 'client-services-config.json'), JSON.stringify({ bench: { secret: 'bench-secret' } }));
      servers.push(
        await startChildServer(work, [
          ...(process.env.BENCH_FLAGS ? process.env.BENCH_FLAGS.split(' ') : []),
          ...(database ? [`--database-url=${database.url}`] : []),
        ]),
      );
    }
    // The bench watches progress through its own connection to the same database.
    const watcher = openDatabase({ databaseUrl: database?.url, workFolder: folders[0]! });
    const auth = `Basic ${Buffer.from('bench:bench-secret').toString('base64')}`;
    const agent = new Agent({ connections: CONCURRENCY });
    const runId = Date.now().toString(36);
    const submit = async (i: number, server: ChildServer) => {
      const content = Buffer.alloc(1024, `${runId}-${i}-`);
      if (options.surface === 'soap') {
        const response = await request(`${server.url}/copytrust/soap`, {
          method: 'POST',
          dispatcher: agent,
          headers: { authorization: auth, 'content-type': 'text/xml; charset=utf-8', soapaction: '"urn:signet:copytrust:v1/SubmitFileRegistrationTask"' },
          body: soapSubmission(content, `f${i}.txt`),
        });
        const text = await response.body.text();
        if (response.statusCode !== 200 || !text.includes('<TaskID>')) throw new Error(`SOAP submit answered ${response.statusCode}: ${text}`);
        return;
      }
      const response = await request(`${server.url}/v1/registrations/file`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ content: content.toString('base64'), name: `f${i}.txt`, userId: 'bench-user', userEmail: 'bench@example.org' }),
      });
      const body = (await response.body.json()) as { taskId: string };
      if (response.statusCode !== 202) throw new Error(`submit answered ${response.statusCode}: ${JSON.stringify(body)}`);
    };
    // Warm-up: creates the account (one scrypt hash, one e-mail) outside the measurement.
    await submit(-1, servers[0]!);
    await new Promise((r) => setTimeout(r, 500));

    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, client) => {
        // Each client sticks to one instance, as clients behind a balancer keep their connections.
        const server = servers[client % servers.length]!;
        while (next < options.count) await submit(next++, server);
      }),
    );
    const submittedMs = performance.now() - started;
    for (;;) {
      const row = await watcher.db
        .selectFrom('tasks')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('kind', '=', 'register-file')
        .where('status', 'in', ['PENDING', 'RUNNING'])
        .executeTakeFirst();
      if (Number(row?.n ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const totalMs = performance.now() - started;
    const registered = await watcher.db.selectFrom('registrations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    if (Number(registered?.n) - 1 !== options.count) throw new Error(`${Number(registered?.n) - 1} registrations for ${options.count} submissions`);
    await agent.close();
    await watcher.close();
    return { acceptedPerSecond: (options.count / submittedMs) * 1000, registeredPerSecond: (options.count / totalMs) * 1000, totalMs };
  } finally {
    for (const server of servers) await server.stop();
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
    await database?.drop();
  }
}

/** The envelope a generated SOAP 1.1 client sends (qualified elements, document/literal wrapped). */
function soapSubmission(content: Buffer, name: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
    `<SubmitFileRegistrationTask xmlns="urn:signet:copytrust:v1"><FileName>${name}</FileName><FileData>${content.toString('base64')}</FileData>` +
    '<UserID>bench-user</UserID><UserEMail>bench@example.org</UserEMail></SubmitFileRegistrationTask></soap:Body></soap:Envelope>'
  );
}
