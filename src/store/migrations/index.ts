import { tasksDocumentsSettings } from './001-tasks-documents-settings.js';
import { blobChunks } from './002-blob-chunks.js';
import { deliveries } from './003-deliveries.js';
import { signstashOperationNumbers } from './004-signstash.js';
import { registrations } from './005-registrations.js';
import { runnableByKind } from './006-runnable-by-kind.js';
import { registrationsByContent } from './007-registrations-by-content.js';
import { failedTasks } from './008-failed-tasks.js';
import { retention } from './009-retention.js';
import { blobChunksUncompressed } from './010-blob-chunks-uncompressed.js';
import { validationData } from './011-validation-data.js';
import { accountPages } from './012-account-pages.js';
import { blobPrefix } from './013-blob-prefix.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/** Numbered and append-only, in order: one file per migration. */
export const migrations: Migration[] = [tasksDocumentsSettings, blobChunks, deliveries, signstashOperationNumbers, registrations, runnableByKind, registrationsByContent, failedTasks, retention, blobChunksUncompressed, validationData, accountPages, blobPrefix];
