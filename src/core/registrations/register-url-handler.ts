import { createHash } from 'node:crypto';
import type { BrowserSnapshotter, Snapshot } from '../../capture/browser-snapshot.js';
import type { PageFetcher } from '../../capture/fetch-page.js';
import type { TaskHandler } from '../../engine/task-runner.js';
import type { CoreContext } from '../core-context.js';
import { resolveUser } from '../users/resolve-user.js';
import { recordRegistration } from './record-registration.js';
import type { CaptureRecord, SnapshotFile } from './registration.js';
import { discardContent, stageContent } from './stage-content.js';
import { isSignetError } from '../../errors/signet-error.js';
import type { RegisterUrlTaskRequest } from './submit-url-registration.js';

export function snapshotBlobKey(kind: 'pdf' | 'png', blobId: string): string {
  return `${kind === 'pdf' ? 'snappdf' : 'snappng'}/${blobId}`;
}

/**
 * Runs a URL registration: resolve the user, fetch the page through the outbound policy (the body
 * streams into the blob store while hashed), then record the exact bytes received like a file, with
 * the response headers and their own time-stamp token kept beside them.
 */
export function createRegisterUrlHandler(context: CoreContext, fetcher: PageFetcher, snapshotter?: BrowserSnapshotter): TaskHandler {
  return async ({ task }) => {
    const done = await context.store.registrations.findByTask(task.id);
    if (done) return { rid: done.rid };
    const request = JSON.parse(task.request_json) as RegisterUrlTaskRequest;
    const user = await resolveUser(context, task.client_id, request.userId, request.userEmail);
    const captured = await fetcher.capture(request.url, (body) => stageContent(context.store, body));
    let snapshot: Snapshot | undefined;
    let snapshotError: string | undefined;
    if (snapshotter) {
      try {
        snapshot = await snapshotter.snapshot(request.url);
      } catch (error) {
        snapshotError = (error as Error).message.split('\n')[0].slice(0, 300);
        context.log.warn({ taskId: task.id, err: snapshotError }, 'browser snapshot failed; registering the raw capture');
      }
    }
    // Each attempt captures afresh: a failed one (the TSA is down) must not leave its copy behind.
    // Only our own errors, raised before the registration is stored; a database error may come after it.
    const discard = async () => {
      await discardContent(context.store, captured.stored);
      for (const kind of ['pdf', 'png'] as const) await context.store.blobs.delete(snapshotBlobKey(kind, captured.stored.blobId)).catch(() => {});
    };
    return recordRegistration(context, task, user.accountId, {
      ...captured.stored,
      kind: 'url',
      name: nameFromUrl(captured.finalUrl, captured.contentType),
      contentType: captured.contentType,
      url: request.url,
      userId: request.userId,
      userEmail: request.userEmail,
      title: request.title,
      description: request.description,
      async capture() {
        const headersDigest = createHash('sha256').update(captured.headersText).digest();
        const token = await context.timestamps.timestamp(headersDigest, 'sha256');
        const record: CaptureRecord = {
          finalUrl: captured.finalUrl,
          redirects: captured.redirects,
          statusCode: captured.statusCode,
          headers: captured.headersText,
          headersSha256: headersDigest.toString('hex'),
          headersTimestampToken: token.toString('base64'),
          ...(snapshot && {
            snapshot: {
              pdf: await storeSnapshotFile(context, snapshotBlobKey('pdf', captured.stored.blobId), snapshot.pdf),
              png: await storeSnapshotFile(context, snapshotBlobKey('png', captured.stored.blobId), snapshot.png),
            },
          }),
          ...(snapshotError && { snapshotError }),
        };
        return JSON.stringify(record);
      },
    }).catch(async (error: unknown) => {
      if (isSignetError(error)) await discard();
      throw error;
    });
  };
}

/** `https://example.org/blog/post` → `example.org-post.html`: a file name that says where it came from. */
export function nameFromUrl(url: string, contentType: string): string {
  const parsed = new URL(url);
  const last = parsed.pathname.split('/').filter(Boolean).pop() ?? 'index';
  const base = `${parsed.hostname}-${last}`.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
  if (/\.[A-Za-z0-9]{1,5}$/.test(last)) return base;
  const type = contentType.split(';')[0].trim().toLowerCase();
  const extension = type === 'text/html' ? '.html' : type === 'application/json' ? '.json' : type === 'text/plain' ? '.txt' : type === 'application/pdf' ? '.pdf' : '';
  return `${base}${extension}`;
}

async function storeSnapshotFile(context: CoreContext, key: string, bytes: Buffer): Promise<SnapshotFile> {
  const stored = await context.store.blobs.write(key, bytes);
  const token = await context.timestamps.timestamp(Buffer.from(stored.sha256, 'hex'), 'sha256');
  return { size: stored.size, sha256: stored.sha256, timestampToken: token.toString('base64') };
}
