import type { Kysely, Selectable } from 'kysely';
import type { SqlDialect } from './database.js';
import type { Database, DocumentTable } from './schema.js';
import { currentTimeMs } from '../util/clock.js';

export type DocumentRow = Selectable<DocumentTable>;

/** How signing one document ended. */
export type DocumentResult =
  | { id: string; status: 'SIGNED'; signedSize: number }
  | { id: string; status: 'FAILED'; code: string; message: string };

/** Documents of signature operations. Results are written under the document's own id, so a
 * handler that runs twice overwrites its own result instead of adding a second one. */
export class DocumentRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  async listForTask(taskId: string): Promise<DocumentRow[]> {
    return this.db.selectFrom('documents').selectAll().where('task_id', '=', taskId).orderBy('position').execute();
  }

  async listForTasks(taskIds: string[]): Promise<DocumentRow[]> {
    if (taskIds.length === 0) return [];
    return this.db
      .selectFrom('documents')
      .selectAll()
      .where('task_id', 'in', taskIds)
      .orderBy('task_id')
      .orderBy('position')
      .execute();
  }

  async findById(clientId: string, taskId: string, documentId: string): Promise<DocumentRow | undefined> {
    return this.db
      .selectFrom('documents')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('task_id', '=', taskId)
      .where('id', '=', documentId)
      .executeTakeFirst();
  }

  async findTaskIdsByDocumentReference(clientId: string, externalReference: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('documents')
      .select('task_id')
      .distinct()
      .where('client_id', '=', clientId)
      .where('external_reference', '=', externalReference)
      .execute();
    return rows.map((r) => r.task_id);
  }

  /**
   * Records a batch of results in one transaction (one commit, not one per document), only while
   * the task is still leased to `owner` and only for documents still waiting: an attempt that lost
   * its lease cannot overwrite what the attempt that took over has recorded.
   */
  async recordResults(taskId: string, owner: string, results: readonly DocumentResult[], now = currentTimeMs()): Promise<boolean> {
    if (results.length === 0) return true;
    return this.db.transaction().execute(async (trx) => {
      const leased = await trx
        .selectFrom('tasks')
        .select('id')
        .where('id', '=', taskId)
        .where('status', '=', 'RUNNING')
        .where('lease_owner', '=', owner)
        .$if(this.dialect === 'postgres', (q) => q.forUpdate())
        .executeTakeFirst();
      if (!leased) return false;
      for (const result of results) {
        await trx
          .updateTable('documents')
          .set(
            result.status === 'SIGNED'
              ? { status: 'SIGNED', signed_size: result.signedSize, signed_at: now, error_code: null, error_message: null }
              : { status: 'FAILED', error_code: result.code, error_message: result.message },
          )
          .where('id', '=', result.id)
          .where('status', '=', 'RECEIVED')
          .execute();
      }
      return true;
    });
  }

  /** Which of these document ids exist and still own their bytes (not purged): the orphan sweep's question. */
  async unpurgedIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.selectFrom('documents').select('id').where('id', 'in', ids).where('purged_at', 'is', null).execute();
    return new Set(rows.map((row) => row.id));
  }
}
