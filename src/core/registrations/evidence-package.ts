import { X509Certificate } from 'node:crypto';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { parseTimeStampToken } from '../../crypto/tsp/parse-time-stamp-token.js';
import { grantedTimeStampResp } from '../../crypto/tsp/time-stamp-resp.js';
import type { CoreContext } from '../core-context.js';
import { registrationCertificate } from './certificate-pdf.js';
import { publicBaseUrl } from './registration-settings.js';
import { openRegisteredContent, openSnapshot } from './registration-queries.js';
import type { CaptureRecord, Registration } from './registration.js';

/**
 * `/timestamp.tsr`: the token wrapped in a granted TimeStampResp (RFC 3161 §2.4.2), the form
 * `openssl ts -verify -in FILE` and `openssl ts -reply -in FILE -text` read without extra flags.
 */
export function timestampReply(registration: Registration): Buffer {
  return grantedTimeStampResp(Buffer.from(registration.timestampToken, 'base64'));
}

/** The content's file name inside the package: the deposited name made safe for any shell and file system. */
export function evidenceContentName(registration: Registration): string {
  const safe = registration.name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.-]+/, '_').slice(0, 100);
  return `content/${safe || 'content'}`;
}

/**
 * `evidence.zip`: everything a stranger needs to check the registration with openssl alone —
 * the content, the time-stamp reply, the TSA's certificate and trust anchors, the public facts as
 * JSON, and a README with the commands. Streamed: the content is never held in memory.
 */
export async function evidencePackage(context: CoreContext, registration: Registration): Promise<Readable> {
  const certificate = await registrationCertificate(context, registration);
  const token = Buffer.from(registration.timestampToken, 'base64');
  const info = parseTimeStampToken(token);
  const tsaPem = info.tsaCertificateDer ? new X509Certificate(info.tsaCertificateDer).toString() : '';
  const caPem = context.registrations.trustAnchorsPem;
  const contentName = evidenceContentName(registration);
  const publicBase = publicBaseUrl(context.registrations, context.host);
  const facts = {
    rid: registration.rid,
    registeredAt: new Date(registration.registeredAt).toISOString(),
    title: registration.title,
    object: {
      name: registration.name,
      contentType: registration.contentType,
      size: registration.size,
      sha1: registration.sha1,
      sha256: registration.sha256,
    },
    timestamp: { tsa: registration.tsa, serial: info.serial, genTime: info.genTime.toISOString(), hashAlgorithm: 'SHA-256' },
    page: `${publicBase}/r/${registration.rid}`,
  };
  const zip = new yazl.ZipFile();
  const mtime = new Date(registration.registeredAt);
  zip.addBuffer(Buffer.from(readme(registration, contentName, caPem, publicBase, info.serial)), 'README.txt', { mtime });
  zip.addReadStream(openRegisteredContent(context, registration), contentName, { mtime, compress: false });
  zip.addBuffer(timestampReply(registration), 'timestamp.tsr', { mtime });
  zip.addBuffer(token, 'timestamp-token.der', { mtime });
  zip.addBuffer(Buffer.from(caPem), 'ca.pem', { mtime });
  zip.addBuffer(certificate, 'certificate.pdf', { mtime, compress: false });
  if (tsaPem) zip.addBuffer(Buffer.from(tsaPem), 'tsa.pem', { mtime });
  zip.addBuffer(Buffer.from(`${JSON.stringify(facts, null, 2)}\n`), 'registration.json', { mtime });
  const { capture } = registration;
  if (capture) {
    zip.addBuffer(Buffer.from(capture.headers), 'capture/response-headers.txt', { mtime });
    zip.addBuffer(grantedTimeStampResp(Buffer.from(capture.headersTimestampToken, 'base64')), 'capture/response-headers.tsr', { mtime });
    for (const kind of ['pdf', 'png'] as const) {
      const file = capture.snapshot?.[kind];
      if (!file) continue;
      zip.addReadStream(openSnapshot(context, registration, kind).stream, `capture/snapshot.${kind}`, { mtime, compress: false });
      zip.addBuffer(grantedTimeStampResp(Buffer.from(file.timestampToken, 'base64')), `capture/snapshot.${kind}.tsr`, { mtime });
    }
  }
  zip.end();
  return zip.outputStream as unknown as Readable;
}

function readme(registration: Registration, contentName: string, caPem: string, publicBase: string, serial: string): string {
  const fingerprints = [...caPem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => {
    const certificate = new X509Certificate(m[0]);
    return `  ${certificate.subject.replace(/\n/g, ', ')}\n    SHA-256 fingerprint ${certificate.fingerprint256}`;
  });
  const when = new Date(registration.registeredAt).toISOString();
  return `Evidence of registration ${registration.rid}
${'='.repeat(24 + registration.rid.length)}

This package proves that the exact bytes of ${contentName} existed on ${when} (UTC),
when a time-stamping authority (TSA) signed their SHA-256 digest, and that they were
registered as ${registration.rid}${registration.title ? ` ("${registration.title}")` : ''}.
You need only OpenSSL (1.1 or newer) and a shell; nothing here depends on the service being up.

Files
-----
  ${contentName}    the registered content, byte for byte
  timestamp.tsr         the RFC 3161 time-stamp reply (token inside) over the content's SHA-256
  timestamp-token.der   the same token on its own (DER)
  ca.pem                the trust anchor(s) the TSA certificate chains to
  tsa.pem               the TSA's certificate (also carried inside the token)
  certificate.pdf       the registration certificate, PAdES-signed by the service (any PDF reader
                        or poppler's pdfsig shows the signature; ca.pem is its trust anchor too)
  registration.json     the registration's public facts (RID, hashes, time)

Step by step (run in the folder where you unpacked this ZIP)
--------------------------------------------------------------
1. Check that the token covers this content and was signed by the TSA, chaining to ca.pem.
   OpenSSL must print "Verification: OK":

$ openssl ts -verify -data ${contentName} -in timestamp.tsr -CAfile ca.pem

   If even one byte of the content differs, it prints "Verification: FAILED" instead.

2. See what the token says: the time (Time stamp:), the hash (Message data:), serial ${serial}:

$ openssl ts -reply -in timestamp.tsr -text

3. Compare the content's hashes with those of the registration (registration.json, the public page):

$ openssl dgst -sha256 ${contentName}
$ openssl dgst -sha1 ${contentName}

   Expected SHA-256: ${registration.sha256}
   Expected SHA-1:   ${registration.sha1}

4. Decide whether you trust ca.pem. Step 1 proves the token chains to ca.pem, so ca.pem must
   come from the service and not only from this package: compare its fingerprint with the trust
   anchors the service publishes at ${publicBase}/pki/ca.pem

$ openssl x509 -in ca.pem -noout -subject -fingerprint -sha256

   Trust anchors at the time of packaging:
${fingerprints.join('\n')}

5. The public page of this registration: ${publicBase}/r/${registration.rid}
${registration.capture ? captureSteps(registration, registration.capture) : ''}`;
}


function captureSteps(registration: Registration, capture: CaptureRecord): string {
  return `
6. This content was captured from ${registration.url}${capture.finalUrl !== registration.url ? ` (answered by ${capture.finalUrl})` : ''},
   HTTP ${capture.statusCode}. The response headers as received are in capture/response-headers.txt,
   time-stamped on their own; OpenSSL must print "Verification: OK":

$ openssl ts -verify -data capture/response-headers.txt -in capture/response-headers.tsr -CAfile ca.pem
${capture.snapshot ? snapshotSteps() : ''}`;
}

function snapshotSteps(): string {
  return `
7. The page as a browser rendered it (headless Chromium): capture/snapshot.pdf and capture/snapshot.png,
   each time-stamped on its own. OpenSSL must print "Verification: OK" for both:

$ openssl ts -verify -data capture/snapshot.pdf -in capture/snapshot.pdf.tsr -CAfile ca.pem
$ openssl ts -verify -data capture/snapshot.png -in capture/snapshot.png.tsr -CAfile ca.pem
`;
}
