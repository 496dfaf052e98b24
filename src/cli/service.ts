import { X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger as PinoLogger } from 'pino';
import { ClientServicesRegistry } from '../config/client-services-registry.js';
import type { ServeConfig } from '../config/serve-config.js';
import { serveConfigForLog } from '../config/serve-config.js';
import type { CoreContext } from '../core/core-context.js';
import { recordCallbackDelivery } from '../core/deliveries/callback-delivery.js';
import { decideAfterAttempt } from '../core/deliveries/retry-schedule.js';
import { createSignOperationHandler } from '../core/signatures/sign-operation-handler.js';
import { createRegisterFileHandler } from '../core/registrations/register-file-handler.js';
import { createRegisterUrlHandler } from '../core/registrations/register-url-handler.js';
import { PageFetcher } from '../capture/fetch-page.js';
import { BrowserSnapshotter } from '../capture/browser-snapshot.js';
import { MailSender } from '../mail/mail-sender.js';
import { outboxFolderTransport, smtpTransport } from '../mail/mail-transport.js';
import { InProcessTimestampClient } from '../crypto/tsp/in-process-timestamp-client.js';
import { TimestampAuthority } from '../crypto/tsp/timestamp-authority.js';
import { closeDefaultXadesPool } from '../crypto/xml/xades-pool.js';
import { SigningThreads } from '../crypto/keys/signing-threads.js';
import { DeliveryRunner } from '../engine/delivery-runner.js';
import { TaskRunner } from '../engine/task-runner.js';
import { recoverLeasesOfGoneProcesses } from '../engine/recover-leases.js';
import { buildApp } from '../http/app.js';
import { AccessTokens } from '../http/auth/access-tokens.js';
import { Authenticator } from '../http/auth/authenticator.js';
import { FailedAttempts } from '../http/auth/failed-attempts.js';
import { createMetrics, type Metrics } from '../http/ops/metrics.js';
import { OutboundAddressPolicy } from '../outbound/address-policy.js';
import { CscHttpTransport } from '../outbound/csc-transport.js';
import { WebhookSender } from '../outbound/webhook-sender.js';
import { openStore, type Store } from '../store/store.js';
import { WorkFolderLock } from '../store/work-folder-lock.js';
import { setUpSigningKeys, type SigningKeys } from './signing-keys-setup.js';
import { pemCertificates } from '../crypto/verify/certificate-trust.js';
import { setUpTrustAnchors } from './trust-anchors-setup.js';
import { refreshTrustLists } from './trust-list-refresh.js';
import { trustedListAnchors } from './trust-list-setup.js';
import { setUpExternalTsas } from './timestamp-setup.js';
import { VerificationThreads } from '../core/verify/verification-threads.js';
import { startHousekeeping } from '../core/housekeeping/housekeeping.js';
import { HotFolders } from '../core/hot-folder/hot-folders.js';
import { RevocationSources } from '../core/revocation/revocation-sources.js';
import { createValidationDataSource } from '../core/revocation/validation-data.js';
import { SigningKeyStatus } from '../core/signatures/signing-key-status.js';
import { ValidationDataClient } from '../outbound/validation-data-client.js';

export interface RunningService {
  app: FastifyInstance;
  url: string;
  store: Store;
  runner: TaskRunner;
  clients: ClientServicesRegistry;
  /** Stage one: stop claiming, drain within `graceMs`, release the rest; `force` skips the drain. */
  close(options?: { graceMs?: number; force?: boolean }): Promise<void>;
}

const packageJson = JSON.parse(
  await readFile(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../package.json'), 'utf8'),
) as { version: string };

export function createLogger(level: ServeConfig['logLevel']): PinoLogger {
  // Authorization headers and form secrets must never reach a log line (DESIGN invariant 6).
  return pino({
    level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.client_secret', '*.secret'], censor: '[redacted]' },
  });
}

/**
 * The composition root: builds every layer from the configuration, listens, starts the workers.
 * `signet serve` calls it, and so do integration tests (with port 0).
 */
export async function startService(config: ServeConfig, log: PinoLogger = createLogger(config.logLevel)): Promise<RunningService> {
  await mkdir(config.workFolder, { recursive: true });
  log.info({ config: serveConfigForLog(config) }, 'starting signet');

  // Whatever was opened before a failure is closed again, so a refused start leaves nothing running.
  const opened: Array<() => Promise<void>> = [];
  try {
    // The embedded store belongs to one process (work-folder-lock.ts); PostgreSQL instances may share a folder.
    const lock = config.databaseUrl ? undefined : WorkFolderLock.acquire(config.workFolder);
    opened.push(async () => lock?.release());
    const clients = await ClientServicesRegistry.open(config.workFolder, { log });
    opened.push(async () => clients.close());
    // CRL distribution points in development certificates point here.
    const publicBase = config.publicUrl ?? `http://${config.serverHostPort}`;
    // RSA signatures (documents, time-stamps) run on their own threads, off the event loop.
    const threads = new SigningThreads();
    opened.push(() => threads.close());
    // Remote keys (CSC API v2) are reached through the same outbound address policy as everything else.
    const cscTransport = new CscHttpTransport(new OutboundAddressPolicy(config.outboundAllow));
    opened.push(() => cscTransport.close());
    const signing = await setUpSigningKeys(config.workFolder, log, publicBase, threads, cscTransport);
    const store = await openStore({ databaseUrl: config.databaseUrl, workFolder: config.workFolder, log });
    opened.push(() => store.close());
    return await startWith(config, log, clients, signing, store, threads, lock, cscTransport);
  } catch (error) {
    for (const close of opened.reverse()) await close().catch(() => {});
    throw error;
  }
}

async function startWith(
  config: ServeConfig,
  log: PinoLogger,
  clients: ClientServicesRegistry,
  signing: SigningKeys,
  store: Store,
  threads: SigningThreads,
  lock: WorkFolderLock | undefined,
  cscTransport: CscHttpTransport,
): Promise<RunningService> {

  const authority = new TimestampAuthority({
    signer: signing.tsa,
    onSystemFailure: (error) => log.error({ err: error }, 'the built-in TSA failed to sign a token'),
  });
  const timestamps = (await setUpExternalTsas(config)) ?? new InProcessTimestampClient(authority);
  const outbound = new OutboundAddressPolicy(config.outboundAllow);
  // B-LT/B-LTA validation data: OCSP responses, CRLs and issuer certificates from each certificate's
  // own CA through the outbound policy; the development CA answers from memory. Trusted lists come the same way.
  const validationDataClient = new ValidationDataClient(outbound);
  const readTrust = async () => {
    const listAnchors = await trustedListAnchors({
      lists: config.trustLists,
      signers: config.trustListSigners,
      workFolder: config.workFolder,
      fetch: (url) => validationDataClient.fetch(url),
      log: log.child({ component: 'trust-lists' }),
    });
    return setUpTrustAnchors(signing.trustAnchorsPem, config.workFolder, config.trustAnchorFiles, listAnchors);
  };
  const trustAnchors = await readTrust();
  // POST /v1/verify checks documents on threads of its own (starting on first use), not on the event loop.
  const verificationThreads = new VerificationThreads(availableParallelism(), trustAnchors.anchors);
  const revocation = new RevocationSources(
    store.validationData,
    validationDataClient,
    signing.crlIssuers.map((issuer) => {
      const responder = signing.ocspResponder?.issuerCertificateDer.equals(issuer.issuerCertificateDer) ? signing.ocspResponder : undefined;
      return { issuerDer: issuer.issuerCertificateDer, crl: () => issuer.current(), ...(responder && { ocsp: (certificateDer: Buffer) => responder.responseFor(certificateDer) }) };
    }),
  );
  // Chains are completed from the configured keys' chains and the trust anchors (an external TSA's root, say), then AIA.
  const anchorCertificates = pemCertificates(trustAnchors.pem).map((block) => new X509Certificate(block).raw);
  const validationData = createValidationDataSource({
    cache: store.validationData,
    client: validationDataClient,
    revocation,
    certificates: [...signing.chainCertificates, ...anchorCertificates],
  });
  // Known before anything is signed: a revoked or expired key signs nothing (API.md §3).
  const keyStatus = new SigningKeyStatus(signing.keys, validationData, log.child({ component: 'keys' }));
  await keyStatus.start();
  const context: CoreContext = {
    store,
    keys: signing.keys,
    timestamps,
    validationData,
    keyStatus,
    host: config.serverHostPort,
    maxDocuments: config.maxDocuments,
    outbound,
    registrations: {
      publicUrl: config.publicUrl,
      trustAnchorsPem: signing.trustAnchorsPem,
      mailFrom: `Signet <signet@${new URL(config.publicUrl ?? `http://${config.serverHostPort}`).hostname}>`,
      onMailQueued: () => mailSender.wake(),
    },
    verification: { trustAnchors: trustAnchors.anchors, threads: verificationThreads, offline: config.verifyOffline },
    log,
  };
  // URL captures: the same address policy as callbacks; pages up to --max-body-size, 30 s, 5 redirects.
  const pageFetcher = new PageFetcher(context.outbound, { maxBytes: config.maxBodyBytes, timeoutMs: 30_000, maxRedirects: 5 });
  // --capture-browser: Chromium renders a PDF and PNG; its requests go through pageFetcher too.
  const snapshotter = config.captureBrowser ? new BrowserSnapshotter(config.captureBrowser, pageFetcher) : undefined;
  // Account e-mails: SMTP with --smtp-url, else .eml files in <work>/outbox; retried, never blocking a task.
  const mailSender = new MailSender({
    outbox: store.mailOutbox,
    transport: config.smtpUrl ? smtpTransport(config.smtpUrl) : outboxFolderTransport(path.join(config.workFolder, 'outbox')),
    from: context.registrations.mailFrom,
    log: log.child({ component: 'mail' }),
  });
  const tokens = new AccessTokens(Buffer.from(await store.settings.getOrCreate('token_signing_key', AccessTokens.generateKey), 'base64'));
  const authenticator = new Authenticator(clients, tokens, new FailedAttempts());
  const metrics = createMetrics({ failedTasksByKind: () => store.tasks.countFailedByKind(), signingKeys: () => keyStatus.statuses() });

  const runner = new TaskRunner({
    queue: store.queue,
    handlers: {
      sign: createSignOperationHandler(context),
      'register-file': createRegisterFileHandler(context),
      'register-url': createRegisterUrlHandler(context, pageFetcher, snapshotter),
    },
    // --workers=0 is an API-only instance: no lane at all. URL captures hold a page in memory (up to
    // --max-body-size) and may render it in Chromium, so they run no more at once than signatures;
    // file registrations only wait on the TSA and the store, so they get many more slots.
    lanes:
      config.workers === 0
        ? []
        : [
            { kinds: ['sign'], concurrency: config.workers },
            { kinds: ['register-url'], concurrency: config.workers },
            { kinds: ['register-file'], concurrency: config.registrationWorkers },
          ],
    leaseMs: config.leaseTimeMs,
    log: log.child({ component: 'engine' }),
    onWake: (wake) => store.notifications.onCreated(wake),
    // Final states are announced by the queue itself (TaskQueue.finish): on PostgreSQL the NOTIFY rides
    // in the transaction or statement that ends the task instead of costing round trips of its own.
  });
  observeRunner(runner, metrics);

  // Callbacks: recorded with the task's final state (same transaction), sent by the delivery runner.
  const schedule = config.webhookRetryScheduleMs;
  store.queue.onFinalState = (trx, task) => recordCallbackDelivery(store.deliveries, trx, task, schedule[0] ?? 0);
  const sender = new WebhookSender(context.outbound, config.webhookTimeoutMs);
  const deliveryRunner = new DeliveryRunner({
    deliveries: store.deliveries,
    send: async (delivery) => {
      // A client removed from the configuration gets no more callbacks (they could not be signed).
      const client = clients.get(delivery.client_id);
      if (!client) return { error: 'the client service no longer exists; callback not sent', durationMs: 0, giveUp: true };
      return sender.send({ id: delivery.id, url: delivery.url, body: delivery.body, secrets: client.webhookSecrets });
    },
    decide: (delivery, result, now) => decideAfterAttempt(schedule, delivery.attempts + 1, result, now),
    perHostConcurrency: 8,
    totalConcurrency: 128,
    leaseMs: config.webhookTimeoutMs + 30_000,
    log: log.child({ component: 'deliveries' }),
    onWake: (wake) => store.notifications.onDeliveriesDue(wake),
  });

  let closing: Promise<void> | undefined;
  const app = await buildApp({
    context,
    authenticator,
    tokens,
    metrics,
    trustAnchorsPem: signing.trustAnchorsPem,
    timestampAuthority: authority,
    crlIssuers: signing.crlIssuers,
    ocspResponder: signing.ocspResponder,
    maxBodySize: config.maxBodyBytes,
    maxInlineContent: config.maxInlineContentBytes,
    maxVerifications: config.maxVerifications,
    tokenTtlSeconds: Math.round(config.tokenTtlMs / 1000),
    logger: false,
    loggerInstance: log,
    version: packageJson.version,
    isShuttingDown: () => closing !== undefined,
  });
  const address = await app.listen({ port: config.port, host: config.host });
  const port = (app.server.address() as { port: number }).port;
  // An advertised port 0 (the default with --port 0) must name the port actually bound.
  if (config.serverHostPort.endsWith(':0')) context.host = `${config.serverHostPort.slice(0, -2)}:${port}`;
  // What a crashed process of this machine left RUNNING runs again now, not after its lease.
  await recoverLeasesOfGoneProcesses(store, { everyOwnerIsGone: store.dialect === 'sqlite', log: log.child({ component: 'engine' }) });
  runner.start();
  if (config.workers > 0) deliveryRunner.start();
  if (config.workers > 0) mailSender.start();
  // Retention and sweeps, on instances that do work (an API-only instance leaves them to those).
  const housekeeping =
    config.workers > 0
      ? startHousekeeping(context, {
          retentionMs: config.retentionMs,
          orphanGraceMs: 6 * 60 * 60 * 1000,
          sweepEveryMs: 60 * 60 * 1000,
          log: log.child({ component: 'housekeeping' }),
        })
      : undefined;
  // The hot-folder mode (API.md §12): each configured client's folders, again when the configuration changes.
  const hotFolders = config.hotFolder ? new HotFolders(context, { workFolder: config.workFolder, instance: config.serverHostPort, settleMs: config.hotFolderSettleMs, log: log.child({ component: 'hot-folder' }) }) : undefined;
  await hotFolders?.start(clients.all());
  const stopWatchingHotFolders = hotFolders ? clients.onChange(() => void hotFolders.restart(clients.all())) : undefined;
  const trustListRefresh =
    config.trustLists.length > 0
      ? refreshTrustLists({
          everyMs: config.trustListRefreshMs,
          read: async () => (await readTrust()).anchors,
          use: (anchors) => {
            context.verification.trustAnchors = anchors;
            verificationThreads.useAnchors(anchors);
          },
          log: log.child({ component: 'trust-lists' }),
        })
      : undefined;
  log.info({ address, host: context.host, workers: config.workers, registrationWorkers: config.workers === 0 ? 0 : config.registrationWorkers }, 'signet is listening');

  return {
    app,
    url: `http://127.0.0.1:${port}`,
    store,
    runner,
    clients,
    close(options = {}) {
      closing ??= (async () => {
        trustListRefresh?.stop();
        stopWatchingHotFolders?.();
        await hotFolders?.stop();
        await housekeeping?.stop();
        await runner.stop(options);
        await deliveryRunner.stop();
        await mailSender.stop();
        // Requests still in flight may verify or sign on the threads below: they close after the server.
        // Connections left open by clients (keep-alive, measured: 70 s after a download) are cut after
        // the grace period rather than waited for.
        const cut = setTimeout(() => app.server.closeAllConnections(), options.graceMs ?? 10_000);
        await app.close();
        clearTimeout(cut);
        await snapshotter?.close();
        await pageFetcher.close();
        await sender.close();
        keyStatus.stop();
        await validationDataClient.close();
        await closeDefaultXadesPool();
        await verificationThreads.close();
        await threads.close();
        await cscTransport.close();
        await clients.close();
        await store.close();
        lock?.release();
      })();
      return closing;
    },
  };
}

function observeRunner(runner: TaskRunner, metrics: Metrics): void {
  runner.on('claimed', () => metrics.tasksRunning.inc());
  runner.on('succeeded', (task, ms) => {
    metrics.tasksRunning.dec();
    metrics.tasksFinished.inc({ kind: task.kind, outcome: 'succeeded' });
    metrics.taskDuration.observe({ kind: task.kind }, ms / 1000);
  });
  runner.on('failed', (task) => {
    metrics.tasksRunning.dec();
    metrics.tasksFinished.inc({ kind: task.kind, outcome: 'failed' });
  });
  runner.on('retrying', (task) => {
    metrics.tasksRunning.dec();
    metrics.taskRetries.inc({ kind: task.kind });
  });
  runner.on('released', () => metrics.tasksRunning.dec());
  runner.on('lost', () => metrics.tasksRunning.dec());
}
