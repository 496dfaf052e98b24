import { SignetError } from '../../errors/signet-error.js';
import type { ClientIdentity, CoreContext } from '../core-context.js';
import { getSignatureOperation, type SignatureOperation } from './signature-queries.js';

/**
 * Numeric operation ids for clients that name operations by a number (Sign'Stash, a Java Long).
 * Each signature operation gets one the first time it is named through such a surface; the
 * task id stays its identity everywhere else.
 */
export async function operationNumber(context: CoreContext, client: ClientIdentity, taskId: string): Promise<number> {
  return context.store.signstash.numberForTask(client.id, taskId);
}

/** The client's own operation with that number, else not_found. */
export async function getSignatureOperationByNumber(
  context: CoreContext,
  client: ClientIdentity,
  number: number,
): Promise<SignatureOperation> {
  const taskId = Number.isSafeInteger(number) && number > 0 ? await context.store.signstash.findTaskId(client.id, number) : undefined;
  if (!taskId) throw new SignetError('not_found', `No signature operation ${number} for this client service`);
  return getSignatureOperation(context, client, taskId);
}
