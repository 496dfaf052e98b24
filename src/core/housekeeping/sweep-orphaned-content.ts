import type { CoreContext } from '../core-context.js';
import { currentTimeMs } from '../../util/clock.js';

/**
 * Areas whose blob ids are document ids (signed outputs, staged inputs): outputs first, since an output
 * may begin with a reference to its input (BlobWriteOptions.prefix), which must outlive it.
 */
const DOCUMENT_AREAS = ['out', 'in'] as const;
/** Areas whose blob ids are a registration's `blob_id` (content, URL snapshots). */
const REGISTRATION_AREAS = ['reg', 'snappdf', 'snappng'] as const;
const BATCH = 500;

export interface SweepResult {
  /** Blobs that nothing owned: uploads staged for a task that was never committed, bytes of purged documents. */
  orphans: number;
  /** Temporary files or staging rows of writes that never finished. */
  abandonedWrites: number;
}

/**
 * Removes content that nothing will ever read. Content is staged (written and flushed) before the
 * task that owns it is committed, so a crash between the two leaves bytes without an owner; so does
 * a crash between marking documents purged and deleting their bytes, or a URL capture interrupted
 * after storing the page. Only blobs made more than `olderThanMs` ago are considered (their UUIDv7
 * ids say when), so an upload still being staged is never taken for an orphan.
 */
export async function sweepOrphanedContent(
  context: Pick<CoreContext, 'store'>,
  { olderThanMs, now = currentTimeMs() }: { olderThanMs: number; now?: number },
): Promise<SweepResult> {
  const { store } = context;
  const createdBefore = now - olderThanMs;
  let orphans = 0;
  const removeUnowned = async (area: string, listed: string[], owned: (ids: string[]) => Promise<Set<string>>) => {
    const ids = [...new Set(listed)];
    const keep = await owned(ids);
    for (const id of ids) {
      if (keep.has(id)) continue;
      await store.blobs.delete(`${area}/${id}`);
      orphans++;
    }
  };
  for (const area of DOCUMENT_AREAS) {
    for await (const ids of batches(store.blobs.listIds(area, createdBefore))) {
      await removeUnowned(area, ids, (batch) => store.documents.unpurgedIds(batch));
    }
  }
  // Read after the listing starts would be safer for content staged meanwhile, but such content is
  // younger than olderThanMs and never listed.
  const staged = await store.tasks.stagedRegistrationBlobIds();
  for (const area of REGISTRATION_AREAS) {
    for await (const ids of batches(store.blobs.listIds(area, createdBefore))) {
      await removeUnowned(area, ids, async (batch) => {
        const owned = await store.registrations.ownedBlobIds(batch);
        for (const id of batch) if (staged.has(id)) owned.add(id);
        return owned;
      });
    }
  }
  const abandonedWrites = await store.blobs.removeAbandonedWrites(olderThanMs, now);
  if (orphans + abandonedWrites > 0) await store.reclaimSpace();
  return { orphans, abandonedWrites };
}

async function* batches(ids: AsyncIterable<string>): AsyncIterable<string[]> {
  let batch: string[] = [];
  for await (const id of ids) {
    batch.push(id);
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
