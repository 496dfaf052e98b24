import type { DeliveryRepository } from '../store/delivery-repository.js';
import type { TaskQueue } from '../store/task-queue.js';
import type { Logger } from '../util/logger.js';
import { leaseOwnerIsGone } from './lease-owner.js';

/**
 * At start, before any slot claims: leases held by processes that are known to be gone are ended,
 * so what a crash interrupted runs again at once rather than after the lease time (30 s by default).
 * `everyOwnerIsGone` is the embedded store's case: the work-folder lock proves no other process
 * uses it, so every lease in it is a dead process's. On PostgreSQL only owners of this machine whose
 * process has exited are known gone; other instances' leases run out as usual.
 */
export async function recoverLeasesOfGoneProcesses(
  store: { queue: TaskQueue; deliveries: DeliveryRepository },
  { everyOwnerIsGone, log }: { everyOwnerIsGone: boolean; log: Logger },
): Promise<{ tasks: number; deliveries: number }> {
  const gone = (owners: string[]) => (everyOwnerIsGone ? owners : owners.filter((owner) => leaseOwnerIsGone(owner)));
  const taskOwners = gone(await store.queue.leaseOwners());
  const deliveryOwners = gone(await store.deliveries.leaseOwners());
  const recovered = {
    tasks: await store.queue.expireLeasesOf(taskOwners),
    deliveries: await store.deliveries.expireLeasesOf(deliveryOwners),
  };
  if (recovered.tasks + recovered.deliveries > 0) {
    log.warn({ ...recovered, owners: [...new Set([...taskOwners, ...deliveryOwners])] }, 'took back the work of processes that stopped without finishing it');
  }
  return recovered;
}
