import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CoreContext } from '../../core/core-context.js';
import { verifyDocument, type VerificationInput } from '../../core/verify/verify-document.js';
import { SignetError } from '../../errors/signet-error.js';
import type { Metrics } from '../ops/metrics.js';

/**
 * API.md §6, public (no authentication): `POST /v1/verify` checks the signatures of an uploaded
 * document and whether its exact bytes were registered; `GET /verify` is the same as a page with a
 * file drop zone. The file is read into memory (a PDF is checked as a whole), so uploads here are
 * capped below --max-body-size (VERIFY_MAX_BYTES).
 */

/** Verification is public: one upload may hold this much memory at most. */
export const VERIFY_MAX_BYTES = 100 * 1024 * 1024;

export interface VerifyRoutesOptions {
  context: CoreContext;
  maxBodySize: number;
  /** Requests handled at once; more are answered 503 verification_busy before their upload is read. */
  maxConcurrent: number;
  metrics: Metrics;
}

export const verifyRoutes: FastifyPluginAsync<VerifyRoutesOptions> = async (app, { context, maxBodySize, maxConcurrent, metrics }) => {
  const maxBytes = Math.min(maxBodySize, VERIFY_MAX_BYTES);
  let inFlight = 0;

  app.post(
    '/v1/verify',
    {
      schema: {
        tags: ['public'],
        summary: 'Verify a signed document (multipart `file`, optional detached `signature`); no authentication',
        consumes: ['multipart/form-data'],
        security: [],
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) {
        throw new SignetError('unsupported_media_type', 'Send the document as multipart/form-data with a "file" part (and "signature" for a detached .p7s)');
      }
      if (inFlight >= maxConcurrent) {
        throw new SignetError('verification_busy', `${maxConcurrent} documents are being verified already (--max-verifications); retry in a moment`);
      }
      inFlight++;
      metrics.verificationsInFlight.set(inFlight);
      let report;
      try {
        const upload = await readUpload(request, maxBytes);
        report = await verifyDocument(context, upload.input, upload.validationTime);
      } finally {
        inFlight--;
        metrics.verificationsInFlight.set(inFlight);
      }
      return reply.header('Cache-Control', 'no-store').send(report);
    },
  );

  app.get('/verify', { schema: { tags: ['public'], summary: 'Verification page with a file drop zone' } }, async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').header('Cache-Control', 'public, max-age=300').send(VERIFY_PAGE);
  });
};

async function readUpload(request: FastifyRequest, maxBytes: number): Promise<{ input: VerificationInput; validationTime?: Date }> {
  const files = new Map<string, Buffer>();
  let fileName: string | undefined;
  let contentType: string | undefined;
  let validationTime: Date | undefined;
  for await (const part of request.parts({ limits: { fileSize: maxBytes, files: 2, fields: 1, fieldSize: 100 } })) {
    if (part.type !== 'file') {
      if (part.fieldname !== 'validationTime') throw new SignetError('invalid_request', `Unknown field "${part.fieldname}": send "file", "signature" and "validationTime" only`, { field: part.fieldname });
      validationTime = parseValidationTime(String(part.value));
      continue;
    }
    if ((part.fieldname !== 'file' && part.fieldname !== 'signature') || files.has(part.fieldname)) {
      part.file.resume();
      throw new SignetError('invalid_request', 'Send one "file" part and, for a detached signature, one "signature" part', { field: part.fieldname });
    }
    const bytes = await part.toBuffer().catch((error: unknown) => {
      if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
        throw new SignetError('payload_too_large', `The "${part.fieldname}" part exceeds the ${maxBytes}-byte limit of verification uploads`, {
          field: part.fieldname,
        });
      }
      throw error;
    });
    files.set(part.fieldname, bytes);
    if (part.fieldname === 'file') [fileName, contentType] = [part.filename, part.mimetype];
  }
  const file = files.get('file');
  if (!file || file.length === 0) throw new SignetError('invalid_request', 'The multipart body needs a non-empty "file" part', { field: 'file' });
  return { input: { file, fileName, contentType, signature: files.get('signature') }, ...(validationTime && { validationTime }) };
}

/** API.md §6: an RFC 3339 date-time with a time zone; judged as at that instant. */
function parseValidationTime(text: string): Date {
  const valid = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text) && !Number.isNaN(Date.parse(text));
  if (!valid) {
    throw new SignetError('invalid_request', `validationTime must be an RFC 3339 date-time with a time zone, e.g. 2020-03-01T00:00:00Z (got "${text.slice(0, 40)}")`, {
      field: 'validationTime',
    });
  }
  return new Date(text);
}

const VERIFY_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Verify a signed document — Signet</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}
#drop{border:2px dashed #888;border-radius:8px;padding:2rem;text-align:center;cursor:pointer}
#drop.over{background:#eef5ff;border-color:#36c}
.sig{border:1px solid #ccc;border-radius:6px;padding:.75rem 1rem;margin:1rem 0}
.verdict{font-size:1.2em;font-weight:600;margin:0}
.passed{color:#17692b}.failed{color:#a11}.indeterminate{color:#8a5a00}
.why{margin:.25rem 0 .75rem}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.5rem 0}
th,td{text-align:left;border-top:1px solid #ddd;padding:.25rem .4rem;vertical-align:top}
details{font-size:.9em}
code{font-size:.9em}
</style></head>
<body>
<h1>Verify a signed document</h1>
<p>Drop a signed PDF, signed XML, a CAdES signature (<code>.p7m</code>), or a file together with its detached <code>.p7s</code>.
Nothing is kept: the document is checked and forgotten. The same check is <code>POST /v1/verify</code>; the verdict follows
ETSI EN 319 102-1, as the EU reference validator gives it.</p>
<div id="drop" tabindex="0">Drop files here, or click to choose</div>
<input id="pick" type="file" multiple hidden>
<div id="out" aria-live="polite"></div>
<script>
const drop = document.getElementById('drop'), pick = document.getElementById('pick'), out = document.getElementById('out');
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'})[c]);
drop.onclick = () => pick.click();
drop.onkeydown = (e) => { if (e.key === 'Enter' || e.key === ' ') pick.click(); };
drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove('over'); send([...e.dataTransfer.files]); };
pick.onchange = () => send([...pick.files]);
const headline = { TOTAL_PASSED: ['passed', 'Passed'], TOTAL_FAILED: ['failed', 'Failed'], INDETERMINATE: ['indeterminate', 'Indeterminate'] };
/** One sentence: the first error without its code, or what passing means. */
function why(s) {
  if (s.indication === 'TOTAL_PASSED') return 'The signature is intact, its signer chains to a trust anchor and no certificate was expired or revoked when the signature was proven to exist (' + s.bestSignatureTime + ').';
  const first = s.errors[0] || s.subIndication || '';
  const sentence = first.replace(/^[a-z_]+: /, '');
  return sentence.charAt(0).toUpperCase() + sentence.slice(1) + (/[.)]$/.test(sentence) ? '' : '.');
}
function revocation(r) {
  if (!r) return 'not checked';
  return esc(r.status) + (r.revokedAt ? ' since ' + esc(r.revokedAt) + (r.reason ? ' (' + esc(r.reason) + ')' : '') : '') +
    ' — ' + (r.source === 'ocsp' ? 'OCSP' : 'CRL') + ', ' + (r.embedded ? 'in the document' : 'asked now') + ', issued ' + esc(r.producedAt);
}
function signature(s) {
  const [kind, word] = headline[s.indication] || ['indeterminate', s.indication];
  let html = '<div class="sig" data-indication="' + esc(s.indication) + '">' +
    '<p class="verdict ' + kind + '">' + word + (s.subIndication ? ' — ' + esc(s.subIndication) : '') + '</p>' +
    '<p class="why">' + esc(why(s)) + '</p>' +
    '<div>' + esc(s.format) + (s.level ? ' ' + esc(s.level) : '') + (s.field ? ' (field ' + esc(s.field) + ')' : '') +
    ' · signer: ' + esc(s.signer ? s.signer.subject : 'unknown') + (s.signingTime ? ' · claimed time: ' + esc(s.signingTime) : '') + '</div>';
  if (s.certificates.length) {
    html += '<table class="chain"><tr><th>Certificate</th><th>Valid</th><th>Revocation</th></tr>' + s.certificates.map((c) =>
      '<tr><td>' + esc(c.subject) + (c.trustAnchor ? ' <strong>(trust anchor)</strong>' : '') + '</td><td>' + esc(c.notBefore) + ' – ' + esc(c.notAfter) +
      '</td><td>' + (c.trustAnchor ? 'trusted as configured' : revocation(c.revocation)) + '</td></tr>').join('') + '</table>';
  }
  if (s.timestamps.length) {
    html += '<table class="timestamps"><tr><th>Time-stamp</th><th>Time</th><th>TSA</th><th>State</th></tr>' + s.timestamps.map((t) =>
      '<tr><td>' + esc(t.type) + '</td><td>' + esc(t.genTime) + '</td><td>' + esc(t.tsa) + '</td><td>' + (t.intact ? 'intact' : 'broken') + ', ' + (t.trusted ? 'trusted' : 'not trusted') + '</td></tr>').join('') + '</table>';
  }
  if (s.errors.length + s.warnings.length > 1 || s.warnings.length) {
    html += '<details><summary>All findings</summary><ul>' + [...s.errors, ...s.warnings].map((p) => '<li>' + esc(p) + '</li>').join('') + '</ul></details>';
  }
  for (const counter of s.counterSignatures || []) html += '<div><em>Countersignature</em>' + signature(counter) + '</div>';
  return html + '</div>';
}
async function send(files) {
  if (!files.length) return;
  const form = new FormData();
  const signatureFile = files.length > 1 ? files.find((f) => /\\.p7s$/i.test(f.name)) : undefined;
  const file = files.find((f) => f !== signatureFile);
  form.append('file', file, file.name);
  if (signatureFile) form.append('signature', signatureFile, signatureFile.name);
  out.textContent = 'Checking ' + file.name + '…';
  const response = await fetch('/v1/verify', { method: 'POST', body: form });
  const body = await response.json();
  if (!response.ok) { out.innerHTML = '<p class="failed">' + esc(body.title) + ': ' + esc(body.detail) + '</p>'; return; }
  let html = '<h2>' + esc(file.name) + '</h2>';
  if (!body.signatures.length) html += '<p>No signature found.</p>';
  html += body.signatures.map(signature).join('');
  html += body.registrations.length
    ? '<p>Registered: ' + body.registrations.map((r) => '<a href="/r/' + encodeURIComponent(r.rid) + '">' + esc(r.rid) + '</a> at ' + esc(r.registeredAt)).join(', ') + '</p>'
    : '<p>These exact bytes are not registered here.</p>';
  out.innerHTML = html;
}
</script>
</body></html>
`;
