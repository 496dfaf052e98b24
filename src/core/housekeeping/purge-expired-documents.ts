import { currentTimeMs } from '../../util/clock.js';
import { mapLimit } from '../../util/map-limit.js';
import type { CoreContext } from '../core-context.js';
import { inputBlobKey, outputBlobKey } from '../signatures/stage-document.js';

/** Operations handled per run; a backlog (retention just switched on) is worked through run by run. */
const OPERATIONS_PER_RUN = 1000;

/**
 * `--retention` (API.md §9): signature operations that ended more than `retentionMs` ago lose their
 * documents' bytes — inputs and signed outputs — and keep their records, documents marked purged
 * (content routes then answer `410 purged`). Registrations are evidence and are never purged.
 * Records are marked first and bytes deleted after: a crash in between leaves bytes the orphan sweep
 * removes, never a record that claims bytes which are gone.
 */
export async function purgeExpiredSignatureDocuments(
  context: CoreContext,
  { retentionMs, now = currentTimeMs() }: { retentionMs: number; now?: number },
): Promise<{ operations: number; documents: number }> {
  const { store } = context;
  let operations = 0;
  let documents = 0;
  while (operations < OPERATIONS_PER_RUN) {
    const ids = await store.tasks.purgeableSignatureOperations(now - retentionMs, 100);
    if (ids.length === 0) break;
    for (const id of ids) {
      const docs = await store.documents.listForTask(id);
      if (!(await store.tasks.markPurged(id, now))) continue;
      await mapLimit(docs, 8, async (doc) => {
        // The output first: it may begin with a reference to the input (BlobWriteOptions.prefix).
        await store.blobs.delete(outputBlobKey(doc.id));
        await store.blobs.delete(inputBlobKey(doc.id));
      });
      operations++;
      documents += docs.length;
    }
  }
  if (operations > 0) await store.reclaimSpace();
  return { operations, documents };
}
