import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { CoreContext } from '../../core/core-context.js';
import { getPublicRegistration } from '../../core/registrations/registration-queries.js';
import { timestampReply } from '../../core/registrations/evidence-package.js';
import type { Registration } from '../../core/registrations/registration.js';
import { isSignetError } from '../../errors/signet-error.js';
import { escapeHtml } from '../../util/escape-html.js';
import { registrationObjectView } from '../registration-object-view.js';
import { sendProblem } from '../problem.js';

/**
 * The public registration page `GET /r/{rid}` (API.md §6), no authentication: HTML for people, the
 * same public fields as JSON with `Accept: application/json`. Public means: no user id, no content,
 * the e-mail masked. The time-stamp reply is public too (it holds only the content's hash), so anyone
 * holding the file can check it with openssl against /pki/ca.pem.
 */
export const registrationPageRoutes: FastifyPluginAsync<{ context: CoreContext }> = async (app, { context }) => {
  app.get<{ Params: { rid: string } }>(
    '/r/:rid',
    { schema: { tags: ['public'], summary: 'Public page of a registration (HTML, or JSON with Accept: application/json)' } },
    async (request, reply) => {
      try {
        const registration = await getPublicRegistration(context, request.params.rid);
        const view = publicRegistrationView(registration);
        if (wantsJson(request)) return reply.type('application/json; charset=utf-8').send(view);
        return reply.type('text/html; charset=utf-8').header('Cache-Control', 'public, max-age=60').send(page(view));
      } catch (error) {
        return answerError(request, reply, error);
      }
    },
  );

  app.get<{ Params: { rid: string } }>(
    '/r/:rid/timestamp.tsr',
    { schema: { tags: ['public'], summary: 'The registration’s RFC 3161 time-stamp reply (public: it holds only the hash)' } },
    async (request, reply) => {
      try {
        const registration = await getPublicRegistration(context, request.params.rid);
        return reply.type('application/timestamp-reply').send(timestampReply(registration));
      } catch (error) {
        return answerError(request, reply, error);
      }
    },
  );
};

export function publicRegistrationView(registration: Registration) {
  return {
    rid: registration.rid,
    registeredAt: new Date(registration.registeredAt).toISOString(),
    kind: registration.kind,
    title: registration.title,
    description: registration.description,
    user: { email: maskEmail(registration.userEmail) },
    object: registrationObjectView(registration),
    proof: { hashAlgorithm: 'SHA-256', tsa: registration.tsa },
    links: { self: `/r/${registration.rid}`, timestamp: `/r/${registration.rid}/timestamp.tsr`, trustAnchors: '/pki/ca.pem' },
  };
}

/** `jane.doe@example.org` → `j***e@e***.org`: recognisable to its owner, useless to a harvester. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const maskedLocal = local.length <= 2 ? `${local[0]}***` : `${local[0]}***${local[local.length - 1]}`;
  const maskedDomain = dot > 0 ? `${domain[0]}***${domain.slice(dot)}` : `${domain[0]}***`;
  return `${maskedLocal}@${maskedDomain}`;
}

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /application\/(?:[\w.+-]*\+)?json/i.test(accept) && !/text\/html/i.test(accept);
}

function answerError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  if (wantsJson(request) || !isSignetError(error)) return sendProblem(reply, error, request);
  const title = error.code === 'invalid_rid' ? 'This RID is mistyped' : 'No such registration';
  return reply
    .code(error.status)
    .type('text/html; charset=utf-8')
    .send(layout(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(error.message)}</p>`));
}

function page(view: ReturnType<typeof publicRegistrationView>): string {
  const rows: Array<[string, string]> = [
    ['RID', `<code>${escapeHtml(view.rid)}</code>`],
    ['Title', escapeHtml(view.title ?? '—')],
    ['Registered at (UTC)', `<time datetime="${view.registeredAt}">${escapeHtml(view.registeredAt)}</time>`],
    ['Deposited by', escapeHtml(view.user.email)],
    ['File', `${escapeHtml(view.object.name)} (${escapeHtml(view.object.contentType)}, ${view.object.size} bytes)`],
    ...(view.object.url ? [['Captured from', escapeHtml(view.object.url)] as [string, string]] : []),
    ['SHA-256', `<code>${view.object.sha256}</code>`],
    ['SHA-1', `<code>${view.object.sha1}</code>`],
    ['Time-stamping authority', escapeHtml(view.proof.tsa)],
  ];
  const body = `<h1>Registration ${escapeHtml(view.rid)}</h1>
${view.description ? `<p>${escapeHtml(view.description)}</p>` : ''}
<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</table>
<h2>Evidence</h2>
<p>The <a href="${escapeHtml(view.links.timestamp)}">RFC 3161 time-stamp</a> proves that a file with the SHA-256 above existed at the time shown.
Check your copy of the file with OpenSSL and the <a href="${escapeHtml(view.links.trustAnchors)}">trust anchors</a>:</p>
<pre>openssl ts -verify -data YOUR_FILE -in ${escapeHtml(view.rid)}.tsr -CAfile ca.pem</pre>`;
  return layout(`Registration ${view.rid}`, body);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}th{text-align:left;padding-right:1rem;vertical-align:top}code{word-break:break-all}pre{background:#f4f4f4;padding:.5rem;overflow-x:auto}</style>
</head><body>${body}</body></html>`;
}
