import type { Migration } from './migration.js';

/**
 * `POST /v1/verify` (API.md §6) tells anyone holding a file whether its exact bytes were registered,
 * by any client: a lookup by SHA-256 alone, which `registrations_sha256` (client first) cannot answer.
 */
export const registrationsByContent: Migration = {
  version: 7,
  name: 'registrations by content hash, across clients (verify)',
  async up(db) {
    await db.schema.createIndex('registrations_by_content').on('registrations').columns(['sha256', 'registered_at']).execute();
  },
};
