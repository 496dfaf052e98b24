import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { appendFile, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hiddenName, releaseName, removeStaleReservations, reservationMark, reserveName } from '../src/core/hot-folder/folder-files.js';
import { processingFolderOf } from '../src/core/hot-folder/hot-folder.js';
import { createWorkFolder, startChildService, type ChildService } from './support/child-service.js';
import { textPdf } from './support/pdf-bytes.js';
import { basicAuth, startTestService, type TestService } from './support/test-service.js';
import { PDFSIG_OFFLINE, run } from './support/tools.js';
import { until } from './support/until.js';

/**
 * API.md §12, the Sign'Stash hot folder, as an ERP uses it: files dropped in `input` come out signed
 * in `output` under the same name (CAdES: `.p7s` added), originals in `backup`, failures as
 * `<name>.error.txt` in both; every output checked by the independent verifier of its format.
 */

const AUTH = basicAuth('client-a', 'secret-a');
const SETTLE = '300ms';

describe('hot folder', () => {
  let service: TestService;
  let input: string;
  let output: string;
  let backup: string;
  let caFile: string;

  before(async () => {
    service = await startTestService({
      flags: ['--hot-folder=true', `--hot-folder-settle=${SETTLE}`],
      clients: {
        'client-a': { secret: 'secret-a', hotFolder: { input: 'hot/in', backup: 'hot/backup', output: 'hot/out', signature: { level: 'B-T' } } },
        // Its configuration names a key that does not exist: every file it takes is refused with an .error.txt.
        'client-b': { secret: 'secret-b', hotFolder: { input: 'hot-b/in', backup: 'hot-b/backup', output: 'hot-b/out', signature: { key: 'no-such-key' } } },
      },
    });
    input = path.join(service.workFolder, 'hot/in');
    output = path.join(service.workFolder, 'hot/out');
    backup = path.join(service.workFolder, 'hot/backup');
    caFile = path.join(service.workFolder, 'test-ca.pem');
    await writeFile(caFile, await (await fetch(`${service.url}/pki/ca.pem`)).text());
  });
  after(() => service.stop());

  /** Dropped as an ERP does: written under a temporary name, renamed into the folder when complete. */
  async function drop(name: string, content: Buffer): Promise<void> {
    const temporary = path.join(input, `${name}.part`);
    await writeFile(temporary, content);
    await rename(temporary, path.join(input, name));
  }

  test('missing folders were created at start', () => {
    for (const folder of [input, output, backup]) assert.deepEqual(readdirSync(folder), []);
  });

  test('20 PDFs, XMLs and binaries and a corrupt PDF: signed outputs that verify, originals in backup, an .error.txt for the corrupt one, input empty', { timeout: 120_000 }, async () => {
    const dropped = new Map<string, Buffer>();
    for (let i = 0; i < 8; i++) dropped.set(`invoice-${i}.pdf`, textPdf([`BT /F1 12 Tf 72 720 Td (Invoice ${i}) Tj ET`]));
    for (let i = 0; i < 6; i++) dropped.set(`order-${i}.xml`, Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Order xmlns="urn:example:order"><ID>${i}</ID><Note>Bestellung №${i}</Note></Order>\n`));
    for (let i = 0; i < 5; i++) dropped.set(`data-${i}.bin`, randomBytes(10_000 + i));
    dropped.set('broken.pdf', Buffer.from('%PDF-1.7\nthis is not a PDF at all'));
    await Promise.all([...dropped].map(([name, content]) => drop(name, content)));

    const expectedOutputs = [...dropped.keys()].map((name) => (name === 'broken.pdf' ? 'broken.pdf.error.txt' : name.endsWith('.bin') ? `${name}.p7s` : name)).sort();
    await until('every output', async () => ((await readdir(output)).sort().join() === expectedOutputs.join() ? true : undefined), 90_000);
    await until('every original in backup', async () => ((await readdir(backup)).length === 21 ? true : undefined), 30_000);
    assert.deepEqual((await readdir(input)).filter((name) => !name.startsWith('.')), [], 'input is empty');
    assert.deepEqual((await readdir(backup)).sort(), [...[...dropped.keys()], 'broken.pdf.error.txt'].sort());

    for (const [name, content] of dropped) {
      assert.ok((await readFile(path.join(backup, name))).equals(content), `${name}: the original in backup changed`);
      if (name === 'broken.pdf') continue;
      const file = path.join(output, name.endsWith('.bin') ? `${name}.p7s` : name);
      if (name.endsWith('.pdf')) {
        const report = run('pdfsig', [...PDFSIG_OFFLINE, file]).stdout;
        assert.match(report, /Signature is Valid\./, `${name}: ${report}`);
      } else if (name.endsWith('.xml')) {
        const result = run('xmlsec1', ['--verify', '--trusted-pem', caFile, '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties', file]);
        assert.equal(result.status, 0, `${name}: ${result.stderr}`);
      } else {
        const result = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', file, '-content', path.join(backup, name), '-CAfile', caFile, '-out', '/dev/null']);
        assert.equal(result.status, 0, `${name}: ${result.stderr}`);
      }
    }
    // A failed document's input may be signed again (operator retry): its original in backup is a copy, not the blob's file.
    assert.equal(statSync(path.join(backup, 'broken.pdf')).nlink, 1, 'the failed original in backup shares nothing with the store');
    const error = await readFile(path.join(output, 'broken.pdf.error.txt'), 'utf8');
    assert.match(error, /invalid_pdf/);
    assert.equal(await readFile(path.join(backup, 'broken.pdf.error.txt'), 'utf8'), error);

    // Ordinary signature operations of the client: visible in /v1/tasks.
    const tasks = (await (await fetch(`${service.url}/v1/tasks?kind=sign`, { headers: { authorization: AUTH } })).json()) as any;
    const hot = tasks.items.filter((task: any) => task.externalReference?.startsWith('hot-folder:'));
    assert.ok(hot.some((task: any) => task.status === 'SUCCEEDED'), JSON.stringify(hot));
    // A batch holding only the corrupt PDF ends FAILED (all_documents_failed); none is left running.
    assert.ok(hot.every((task: any) => task.status === 'SUCCEEDED' || task.status === 'FAILED'), JSON.stringify(hot));
  });

  test('a file written slowly over two seconds is taken only once complete, and signed whole', { timeout: 60_000 }, async () => {
    const pieces = Array.from({ length: 10 }, () => randomBytes(5000));
    const file = path.join(input, 'slow.bin');
    for (const piece of pieces) {
      await appendFile(file, piece);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const whole = Buffer.concat(pieces);
    await until('slow.bin.p7s', async () => ((await readdir(output)).includes('slow.bin.p7s') ? true : undefined), 30_000);
    await until('slow.bin in backup', async () => ((await readdir(backup)).includes('slow.bin') ? true : undefined), 10_000);
    assert.ok((await readFile(path.join(backup, 'slow.bin'))).equals(whole), 'the original taken is the whole file');
    const result = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(output, 'slow.bin.p7s'), '-content', path.join(backup, 'slow.bin'), '-CAfile', caFile, '-out', '/dev/null']);
    assert.equal(result.status, 0, result.stderr);
  });

  test('a name already in output and backup is never overwritten: the newcomer gets -1', { timeout: 60_000 }, async () => {
    const first = readFileSync(path.join(output, 'invoice-0.pdf'));
    await drop('invoice-0.pdf', textPdf(['BT /F1 12 Tf 72 720 Td (Invoice zero, again) Tj ET']));
    await until('invoice-0-1.pdf', async () => ((await readdir(output)).includes('invoice-0-1.pdf') ? true : undefined), 30_000);
    await until('the second original', async () => ((await readdir(backup)).includes('invoice-0-1.pdf') ? true : undefined), 10_000);
    assert.ok(readFileSync(path.join(output, 'invoice-0.pdf')).equals(first), 'the first output was overwritten');
    assert.match(run('pdfsig', [...PDFSIG_OFFLINE, path.join(output, 'invoice-0-1.pdf')]).stdout, /Signature is Valid\./);
  });

  test('an input named like the bookkeeping (batch.json) is an ordinary file; a very long name is signed too', { timeout: 60_000 }, async () => {
    const long = `${'Rechnung-über-'.repeat(15)}.bin`;
    assert.ok(Buffer.byteLength(long) > 200 && Buffer.byteLength(`${long}.p7s`) < 255);
    const json = Buffer.from('{"files": ["not ours"]}');
    await drop('batch.json', json);
    await drop(long, Buffer.from('long name'));
    await until('both outputs', async () => {
      const names = await readdir(output);
      return names.includes('batch.json.p7s') && names.includes(`${long}.p7s`) ? true : undefined;
    }, 30_000);
    await until('both originals', async () => ((await readdir(backup)).includes(long) ? true : undefined), 10_000);
    assert.ok((await readFile(path.join(backup, 'batch.json'))).equals(json));
  });

  test('a hot folder whose configured key does not exist: each file gets its .error.txt, the original goes to backup', { timeout: 60_000 }, async () => {
    const inputB = path.join(service.workFolder, 'hot-b/in');
    await writeFile(path.join(inputB, 'memo.txt'), 'refused');
    const outB = path.join(service.workFolder, 'hot-b/out');
    await until('memo.txt.error.txt', async () => ((await readdir(outB)).includes('memo.txt.error.txt') ? true : undefined), 30_000);
    assert.match(await readFile(path.join(outB, 'memo.txt.error.txt'), 'utf8'), /invalid_request: No signing key named "no-such-key"/);
    await until('the original in backup', async () => ((await readdir(path.join(service.workFolder, 'hot-b/backup'))).sort().join() === 'memo.txt,memo.txt.error.txt' ? true : undefined), 10_000);
    assert.deepEqual(await readdir(inputB), []);
  });

  test('*.tmp and *.part files are left alone', { timeout: 30_000 }, async () => {
    await writeFile(path.join(input, 'draft.pdf.tmp'), textPdf(['BT ET']));
    await writeFile(path.join(input, 'upload.xml.part'), '<a/>');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.deepEqual((await readdir(input)).sort(), ['draft.pdf.tmp', 'upload.xml.part']);
    rmSync(path.join(input, 'draft.pdf.tmp'));
    rmSync(path.join(input, 'upload.xml.part'));
    mkdirSync(path.join(input, 'a-folder'));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepEqual(readdirSync(input), ['a-folder'], 'a folder in input is not a file to sign');
  });
});

describe('output name reservations', () => {
  const mark = (batch: string, doc: string) => reservationMark(batch, doc, 'output');

  test('the same owner takes its reservation again (a restart), another gets -1; a name in the folder is skipped; release frees it; a reservation written as a plain file (no symbolic links) is read back too', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'signet-reserve-'));
    try {
      assert.equal(await reserveName(folder, 'a.pdf', mark('batch-1', 'doc-1')), 'a.pdf');
      const reservation = readdirSync(folder).find((name) => name.startsWith('.signet-'))!;
      assert.equal(lstatSync(path.join(folder, reservation)).isSymbolicLink(), true, 'made in one step with its owner in it');
      assert.equal(await reserveName(folder, 'a.pdf', mark('batch-1', 'doc-1')), 'a.pdf', 'its owner finds it again');
      assert.equal(await reserveName(folder, 'a.pdf', mark('batch-2', 'doc-9')), 'a-1.pdf', 'another owner does not');
      writeFileSync(path.join(folder, 'b.xml'), 'placed by a person');
      assert.equal(await reserveName(folder, 'b.xml', mark('batch-1', 'doc-2')), 'b-1.xml');
      await releaseName(folder, 'a.pdf', mark('batch-1', 'doc-1'));
      assert.equal(await reserveName(folder, 'a.pdf', mark('batch-3', 'doc-1')), 'a.pdf', 'released, the name is free again');
      // What the fallback for file systems without links leaves: a plain file holding the mark.
      writeFileSync(path.join(folder, hiddenName('c.pdf', 'reserved')), mark('batch-4', 'doc-1'));
      assert.equal(await reserveName(folder, 'c.pdf', mark('batch-4', 'doc-1')), 'c.pdf');
      assert.equal(await reserveName(folder, 'c.pdf', mark('batch-5', 'doc-1')), 'c-1.pdf');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a reservation of ours on a name taken since (the crash fell between reserving and checking) is not taken: never overwrite', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'signet-reserve-'));
    try {
      symlinkSync(mark('batch-1', 'doc-1'), path.join(folder, hiddenName('scan.pdf', 'reserved')));
      writeFileSync(path.join(folder, 'scan.pdf'), 'an earlier scan');
      assert.equal(await reserveName(folder, 'scan.pdf', mark('batch-1', 'doc-1')), 'scan-1.pdf');
      // A dangling symbolic link a person left is a name in use too.
      symlinkSync('/nowhere', path.join(folder, 'link.pdf'));
      assert.equal(await reserveName(folder, 'link.pdf', mark('batch-1', 'doc-2')), 'link-1.pdf');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a release repeated after a restart does not free a name another batch has reserved since', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'signet-reserve-'));
    try {
      assert.equal(await reserveName(folder, 'x.pdf', mark('batch-a', 'doc-1')), 'x.pdf');
      await releaseName(folder, 'x.pdf', mark('batch-a', 'doc-1'));
      assert.equal(await reserveName(folder, 'x.pdf', mark('batch-b', 'doc-7')), 'x.pdf');
      await releaseName(folder, 'x.pdf', mark('batch-a', 'doc-1'));
      assert.equal(await reserveName(folder, 'x.pdf', mark('batch-c', 'doc-3')), 'x-1.pdf', 'batch-b still holds x.pdf');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('reservations a crash left are removed once old, unless their batch is still there', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'signet-reserve-'));
    try {
      await reserveName(folder, 'dead.pdf', mark('batch-gone', 'doc-1'));
      await reserveName(folder, 'live.pdf', mark('batch-live', 'doc-1'));
      await reserveName(folder, 'recent.pdf', mark('batch-gone-too', 'doc-1'));
      writeFileSync(path.join(folder, hiddenName('empty.pdf', 'reserved')), '');
      const hour = 60 * 60 * 1000;
      const old = new Date(Date.now() - 25 * hour);
      for (const name of ['dead.pdf', 'live.pdf', 'empty.pdf']) lutimesSync(path.join(folder, hiddenName(name, 'reserved')), old, old);
      const removed = await removeStaleReservations(folder, (batch) => batch === 'batch-live', 24 * hour);
      assert.equal(removed, 2);
      const left = readdirSync(folder).sort();
      assert.deepEqual(left, [hiddenName('live.pdf', 'reserved'), hiddenName('recent.pdf', 'reserved')].sort());
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('hot folder across a crash', () => {
  const folders: string[] = [];
  const children: ChildService[] = [];
  after(async () => {
    await Promise.all(children.map((child) => child.kill()));
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  test('a refused batch cut short after placing some of its files: after the restart the rest gets its .error.txt, nothing is staged again', { timeout: 60_000 }, async () => {
    const workFolder = await createWorkFolder({
      'client-b': { secret: 'secret-b', hotFolder: { input: 'in', backup: 'backup', output: 'out', signature: { key: 'no-such-key' } } },
    });
    folders.push(workFolder);
    const instance = 'hot-test:1';
    // The state a kill -9 leaves: refused and recorded as such, a.bin done (its texts out, its original in backup), b.bin still claimed.
    const batch = path.join(processingFolderOf(workFolder, 'client-b', instance), '0190aaaa-0000-7000-8000-000000000001');
    mkdirSync(batch, { recursive: true });
    for (const folder of ['out', 'backup']) mkdirSync(path.join(workFolder, folder));
    writeFileSync(path.join(batch, '.batch.json'), JSON.stringify({ files: ['a.bin', 'b.bin'] }));
    writeFileSync(path.join(batch, '.refused.json'), JSON.stringify({ code: 'invalid_request', message: 'No signing key named "no-such-key"' }));
    writeFileSync(path.join(batch, 'b.bin'), 'b');
    writeFileSync(path.join(workFolder, 'out', 'a.bin.error.txt'), 'a.bin\ninvalid_request: No signing key named "no-such-key"\n');
    writeFileSync(path.join(workFolder, 'backup', 'a.bin'), 'a');
    writeFileSync(path.join(workFolder, 'backup', 'a.bin.error.txt'), 'a.bin\ninvalid_request: No signing key named "no-such-key"\n');
    const service = await startChildService({ workFolder, flags: ['--hot-folder=true', `--hot-folder-settle=${SETTLE}`, `--server.host.port=${instance}`] });
    children.push(service);
    await until('b.bin finished', async () => ((await readdir(path.join(workFolder, 'out'))).includes('b.bin.error.txt') ? true : undefined), 30_000);
    await until('the batch folder removed', async () => (existsSync(batch) ? undefined : true), 10_000);
    assert.deepEqual((await readdir(path.join(workFolder, 'out'))).sort(), ['a.bin.error.txt', 'b.bin.error.txt']);
    assert.deepEqual((await readdir(path.join(workFolder, 'backup'))).sort(), ['a.bin', 'a.bin.error.txt', 'b.bin', 'b.bin.error.txt']);
    assert.match(await readFile(path.join(workFolder, 'out', 'b.bin.error.txt'), 'utf8'), /invalid_request: No signing key named "no-such-key"/);
    await service.kill();
  });

  // While signing: enough files that signing outlasts the first delivery pass (150 at B-T sometimes
  // signed within a second, all delivered at once, before the kill could land).
  for (const [moment, count] of [['while signing', 400], ['while writing outputs', 150]] as const) {
    test(`kill -9 ${moment}, ${count} files: after the restart exactly one output each, every original in backup, nothing left behind`, { timeout: 240_000 }, async () => {
      const workFolder = await createWorkFolder({
        'client-a': { secret: 'secret-a', hotFolder: { input: 'in', backup: 'backup', output: 'out', signature: { format: 'CAdES', level: moment === 'while signing' ? 'B-T' : 'B-B' } } },
      });
      folders.push(workFolder);
      const flags = ['--hot-folder=true', `--hot-folder-settle=${SETTLE}`, '--workers=1'];
      const first = await startChildService({ workFolder, flags });
      children.push(first);
      const input = path.join(workFolder, 'in');
      const output = path.join(workFolder, 'out');
      const backup = path.join(workFolder, 'backup');
      const dropped = new Map<string, Buffer>();
      for (let i = 0; i < count; i++) dropped.set(`doc-${String(i).padStart(3, '0')}.bin`, randomBytes(2000 + i));
      for (const [name, content] of dropped) {
        await writeFile(path.join(input, `${name}.tmp`), content);
        await rename(path.join(input, `${name}.tmp`), path.join(input, name));
      }
      if (moment === 'while signing') {
        // Some documents signed and delivered (a batch's outputs appear as they are signed), not all.
        await until('the first outputs', async () => ((await readdir(output)).some((name) => name.endsWith('.p7s')) ? true : undefined), 60_000);
      } else {
        // Names reserved, outputs being written (hidden reservations and temporary files in output).
        await until('outputs being written', async () => ((await readdir(output)).some((name) => name.startsWith('.signet-')) ? true : undefined), 60_000);
      }
      await first.kill();
      // The kill landed mid-way: not every output was written yet.
      const atKill = (await readdir(output)).filter((name) => name.endsWith('.p7s'));
      assert.ok(atKill.length < count, `${atKill.length} outputs already at the kill`);
      // The consumer (the ERP) takes away the outputs already there: none may come back.
      const taken = path.join(workFolder, 'taken');
      mkdirSync(taken);
      for (const name of atKill) await rename(path.join(output, name), path.join(taken, name));

      const second = await startChildService({ workFolder, flags });
      children.push(second);
      const expected = [...dropped.keys()].map((name) => `${name}.p7s`).sort();
      const delivered = async () => [...(await readdir(output)).filter((name) => !name.startsWith('.')), ...(await readdir(taken))];
      await until(`${count} outputs`, async () => ((await delivered()).length >= count && (await readdir(backup)).length >= count ? true : undefined), 120_000);
      // Settle: nothing more may appear (no second output for anything).
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.deepEqual((await readdir(output)).filter((name) => atKill.includes(name)), [], 'an output the consumer took is not written again');
      assert.deepEqual((await delivered()).sort(), expected, 'exactly one output per input');
      assert.deepEqual((await readdir(output)).filter((name) => name.startsWith('.')), [], 'no temporary file left in output');
      assert.deepEqual((await readdir(backup)).sort(), [...dropped.keys()].sort());
      assert.deepEqual(await readdir(input), []);
      // The processing area holds no batch (only the client's and the instance's folders).
      await until('the processing area emptied', async () => {
        const entries = await readdir(path.join(workFolder, 'hot-folder'), { recursive: true, withFileTypes: true });
        return entries.filter((entry) => entry.isFile()).length === 0 && entries.length === 2 ? true : undefined;
      }, 10_000);
      const caFile = path.join(workFolder, 'pki', 'ca.cert.pem');
      for (const [name, content] of dropped) {
        assert.ok((await readFile(path.join(backup, name))).equals(content), `${name}: original changed`);
        const signed = existsSync(path.join(output, `${name}.p7s`)) ? path.join(output, `${name}.p7s`) : path.join(taken, `${name}.p7s`);
        const result = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', signed, '-content', path.join(backup, name), '-CAfile', caFile, '-out', '/dev/null']);
        assert.equal(result.status, 0, `${name}: ${result.stderr}`);
      }
      await second.kill();
    });
  }
});
