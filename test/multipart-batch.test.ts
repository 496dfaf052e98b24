import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basicAuth, startTestService, type TestService } from './support/test-service.js';

/** multipart bodies the size of the contract's batches: busboy's own part limits must not cut them. */
describe('multipart batches up to --max-documents', () => {
  let service: TestService;
  const auth = basicAuth('client-a', 'secret-a');
  before(async () => {
    // No workers: only acceptance is measured here; signing is covered elsewhere.
    service = await startTestService({ flags: ['--workers=0', '--max-documents=1500'] });
  });
  after(() => service.stop());

  function batch(reference: string, count: number): FormData {
    const form = new FormData();
    const documents = Array.from({ length: count }, (_, i) => ({ name: `d${i}.txt` }));
    form.append('request', JSON.stringify({ externalReference: reference, signature: { format: 'CAdES', level: 'B-B' }, documents }));
    for (let i = 0; i < count; i++) form.append('files', new Blob([`doc ${i}`]), `d${i}.txt`);
    return form;
  }

  test('1,500 documents (more than busboy\'s default 1,000 parts) are accepted; 1,501 are refused as too many', async () => {
    const accepted = await fetch(`${service.url}/v1/signatures`, { method: 'POST', headers: { authorization: auth }, body: batch('big-batch', 1500) });
    assert.equal(accepted.status, 202, await accepted.clone().text());
    const { taskId } = (await accepted.json()) as any;
    const operation = (await (await fetch(`${service.url}/v1/signatures/${taskId}`, { headers: { authorization: auth } })).json()) as any;
    assert.equal(operation.documents.length, 1500);

    const refused = await fetch(`${service.url}/v1/signatures`, { method: 'POST', headers: { authorization: auth }, body: batch('too-big', 1501) });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as any).code, 'too_many_documents');
  });
});
