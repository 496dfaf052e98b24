import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifySecret } from '../src/config/secret-hash.js';
import { basicAuth, startTestService, testStores, type TestService } from './support/test-service.js';
import { mailParts } from './support/mail.js';
import { until } from './support/until.js';

/** Just enough SMTP (RFC 5321) for nodemailer: EHLO, MAIL, RCPT, DATA, QUIT; records each message. */
function tinySmtpServer() {
  const received: Array<{ from: string; to: string[]; data: string }> = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let inData = false;
    let current = { from: '', to: [] as string[], data: '' };
    socket.write('220 tiny ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          current.data = buffer.slice(0, end).replace(/^\.\./gm, '.');
          buffer = buffer.slice(end + 5);
          inData = false;
          received.push(current);
          current = { from: '', to: [], data: '' };
          socket.write('250 queued\r\n');
          continue;
        }
        const newline = buffer.indexOf('\r\n');
        if (newline < 0) return;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250-tiny\r\n250 8BITMIME\r\n');
        else if (verb === 'MAIL') (current.from = /<(.*)>/.exec(line)?.[1] ?? ''), socket.write('250 ok\r\n');
        else if (verb === 'RCPT') current.to.push(/<(.*)>/.exec(line)?.[1] ?? ''), socket.write('250 ok\r\n');
        else if (verb === 'DATA') (inData = true), socket.write('354 go on\r\n');
        else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => {});
  });
  return { server, received };
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

function decodeBody(eml: string): string {
  const { text } = mailParts(eml);
  assert.ok(text, `no text/plain part in:\n${eml.slice(0, 2000)}`);
  return text;
}

for (const store of testStores()) {
  describe(`users and account e-mails (${store})`, () => {
    let service: TestService;
    const auth = basicAuth('client-a', 'secret-a');

    before(async () => {
      service = await startTestService({ store });
    });
    after(async () => service.stop());

    async function register(userId: string, userEmail: string, content: string, authorization = auth) {
      const response = await fetch(`${service.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify({ content: Buffer.from(content).toString('base64'), userId, userEmail }),
      });
      const body = (await response.json()) as any;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.status, 'REGISTERED');
      return body;
    }

    const outbox = () => path.join(service.workFolder, 'outbox');
    const emls = async () => (await readdir(outbox()).catch(() => [] as string[])).filter((f) => f.endsWith('.eml'));

    test('a new userId creates one account and writes one .eml with a password that matches the stored slow hash', async () => {
      await register('alice-1', 'Alice@Example.org', 'first work');
      const [eml] = await until('an .eml', async () => ((await emls()).length === 1 ? await emls() : undefined));
      const message = await readFile(path.join(outbox(), eml), 'utf8');
      assert.match(message, /^To: Alice@Example\.org\r$/m);
      assert.match(message, /^Subject: Your Signet account\r$/m);
      const text = decodeBody(message);
      const password = /Password: (\S+)/.exec(text)?.[1];
      assert.ok(password && password.length >= 12, text);
      assert.match(text, /Login:\s+Alice@Example\.org/);

      const accounts = await service.store.database.db.selectFrom('user_accounts').selectAll().execute();
      assert.equal(accounts.length, 1);
      assert.match(accounts[0].password_hash, /^\$scrypt\$/);
      assert.ok(!accounts[0].password_hash.includes(password!));
      assert.equal(await verifySecret(accounts[0].password_hash, password!), true);
      assert.equal(await verifySecret(accounts[0].password_hash, `${password}x`), false);
      // Once sent, the outbox row no longer holds the password.
      const mails = await until('the outbox row marked sent', async () => {
        const rows = await service.store.database.db.selectFrom('mail_outbox').selectAll().execute();
        return rows.every((row) => row.status === 'SENT') ? rows : undefined;
      });
      assert.equal(mails.length, 1);
      assert.equal(mails[0].message, '');

      // Step 1: the same userId again, even with another e-mail: same account, no new e-mail.
      const again = await register('alice-1', 'alice.new@example.org', 'second work');
      assert.equal(again.user.email, 'alice.new@example.org');
      const user = (await (await fetch(`${service.url}/v1/users/alice-1`, { headers: { authorization: auth } })).json()) as any;
      assert.equal(user.userId, 'alice-1');
      assert.equal(user.email, 'Alice@Example.org');
      assert.equal(user.registrationCount, 2);
      assert.ok(!Number.isNaN(Date.parse(user.createdAt)));

      // Step 2: the same e-mail (any case) under a second userId links to the account: no second account, no e-mail.
      await register('alice-2', 'alice@example.ORG', 'third work');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await emls()).length, 1);
      assert.equal((await service.store.database.db.selectFrom('user_accounts').selectAll().execute()).length, 1);
      const linked = (await (await fetch(`${service.url}/v1/users/alice-2`, { headers: { authorization: auth } })).json()) as any;
      assert.equal(linked.email, 'Alice@Example.org');
      assert.equal(linked.registrationCount, 3);

      // Same bytes by the linked userId: the same person, so the existing RID.
      const dup = await register('alice-2', 'alice@example.org', 'first work');
      const first = await (await fetch(`${service.url}/v1/registrations?sha256=${dup.object.sha256}`, { headers: { authorization: auth } })).json() as any;
      assert.equal(first.registrations.length, 1);
      assert.equal(first.registrations[0].rid, dup.rid);
    });

    test('accounts are per client service: the same e-mail at another client is another account with its own e-mail', async () => {
      await register('alice-1', 'alice@example.org', 'client b work', basicAuth('client-b', 'secret-b'));
      await until('a second .eml', async () => ((await emls()).length === 2 ? true : undefined));
      assert.equal((await fetch(`${service.url}/v1/users/alice-2`, { headers: { authorization: basicAuth('client-b', 'secret-b') } })).status, 404);
      assert.equal((await fetch(`${service.url}/v1/users/nobody`, { headers: { authorization: auth } })).status, 404);
    });

    test('concurrent registrations of one new user make one account and one e-mail', async () => {
      const before = (await emls()).length;
      await Promise.all(Array.from({ length: 6 }, (_, i) => register(`racer-${i % 2}`, 'racer@example.org', `race ${i}`)));
      await until('the racer .eml', async () => ((await emls()).length === before + 1 ? true : undefined));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await emls()).length, before + 1);
      const accounts = await service.store.database.db.selectFrom('user_accounts').selectAll().where('email_key', '=', 'racer@example.org').execute();
      assert.equal(accounts.length, 1);
    });
  });
}

describe('account e-mails over SMTP', () => {
  test('with --smtp-url the e-mail reaches the SMTP server; an outage delays it without failing the registration', async () => {
    const port = await freePort();
    const service = await startTestService({ flags: [`--smtp-url=smtp://127.0.0.1:${port}`] });
    const smtp = tinySmtpServer();
    try {
      const auth = basicAuth('client-a', 'secret-a');
      // The SMTP server is down: the registration still succeeds (the mail waits in the outbox).
      const response = await fetch(`${service.url}/v1/registrations/file`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify({ content: Buffer.from('smtp work').toString('base64'), userId: 'bob', userEmail: 'bob@example.org' }),
      });
      const body = (await response.json()) as any;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.status, 'REGISTERED');
      const failed = await until('a failed attempt', async () => {
        const row = await service.store.database.db.selectFrom('mail_outbox').selectAll().executeTakeFirst();
        return row && row.attempts >= 1 ? row : undefined;
      });
      assert.equal(failed.status, 'PENDING');
      assert.ok(failed.last_error);
      assert.deepEqual(await readdir(path.join(service.workFolder, 'outbox')).catch(() => []), []);

      // The server comes back: the retry delivers the message.
      smtp.server.listen(port, '127.0.0.1');
      await once(smtp.server, 'listening');
      const message = await until('the SMTP message', async () => smtp.received[0], 30_000);
      assert.deepEqual(message.to, ['bob@example.org']);
      assert.match(message.data, /^To: bob@example\.org\r$/m);
      assert.match(decodeBody(message.data), /Password: \S{12,}/);
      const sent = await until('the outbox row marked sent', async () => {
        const row = await service.store.database.db.selectFrom('mail_outbox').selectAll().executeTakeFirst();
        return row?.status === 'SENT' ? row : undefined;
      });
      assert.equal(sent.message, '');
      assert.equal(smtp.received.length, 1);
    } finally {
      await service.stop();
      smtp.server.close();
    }
  });
});
