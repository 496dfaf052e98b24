import type { ClientIdentity, CoreContext } from '../../core/core-context.js';
import type { Registration } from '../../core/registrations/registration.js';
import { findRegistrationsByHash, getRegistration } from '../../core/registrations/registration-queries.js';
import { publicBaseUrl } from '../../core/registrations/registration-settings.js';
import type { StagedContent } from '../../core/registrations/stage-content.js';
import { submitFileRegistration } from '../../core/registrations/submit-file-registration.js';
import { submitUrlRegistration } from '../../core/registrations/submit-url-registration.js';
import type { TaskInfo } from '../../core/tasks/task-info.js';
import { getTask } from '../../core/tasks/task-queries.js';
import { SignetError } from '../../errors/signet-error.js';
import type { ResponseRecord } from './soap-envelope-writer.js';
import type { SoapCall } from './soap-envelope-reader.js';
import type { SoapTaskStatus } from './service-contract.js';

/**
 * The five operations of API.md §10, each the native operation of §4 through the same core
 * functions the REST routes call: no second path to registering anything.
 */
export async function performOperation(context: CoreContext, client: ClientIdentity, call: SoapCall, staged: StagedContent | undefined): Promise<ResponseRecord> {
  const field = (name: string) => call.fields.get(name);
  const optionalText = (name: string) => {
    const value = field(name);
    return value === undefined || value === '' ? undefined : value;
  };
  switch (call.operation) {
    case 'SubmitFileRegistrationTask': {
      if (!staged) throw new SignetError('invalid_request', 'SubmitFileRegistrationTask needs <FileData>', { field: 'FileData' });
      const { task } = await submitFileRegistration(
        context,
        client,
        {
          name: field('FileName')?.trim(),
          title: optionalText('Title'),
          description: optionalText('Description'),
          userId: field('UserID')!.trim(),
          userEmail: field('UserEMail')!,
          externalReference: optionalText('ExternalReference'),
        },
        staged,
      );
      return { TaskID: task.id };
    }
    case 'SubmitUrlRegistrationTask': {
      const { task } = await submitUrlRegistration(context, client, {
        url: field('Url')!.trim(),
        title: optionalText('Title'),
        description: optionalText('Description'),
        userId: field('UserID')!.trim(),
        userEmail: field('UserEMail')!,
        externalReference: optionalText('ExternalReference'),
      });
      return { TaskID: task.id };
    }
    case 'GetTaskInfo':
      return taskInfoResponse(await getTask(context, client, field('TaskID')!.trim()));
    case 'GetRegistrationInfo':
      return registrationResponse(context, await getRegistration(context, client, field('RID')!.trim()));
    case 'CheckRegistrationByDataHash': {
      const hash = field('Hash')!.trim().toLowerCase();
      const algorithm = (optionalText('HashAlgorithm') ?? 'SHA1').trim();
      if (algorithm !== 'SHA1' && algorithm !== 'SHA256') {
        throw new SignetError('invalid_request', `HashAlgorithm must be SHA1 or SHA256, not "${algorithm.slice(0, 20)}"`, { field: 'HashAlgorithm' });
      }
      const registrations = await findRegistrationsByHash(context, client, algorithm === 'SHA1' ? { sha1: hash } : { sha256: hash }).catch((error: unknown) => {
        // The native check names its query parameter; here the element is Hash.
        if (error instanceof SignetError && error.code === 'invalid_request') {
          throw new SignetError('invalid_request', `Hash must be ${algorithm === 'SHA1' ? 40 : 64} hexadecimal digits for ${algorithm}`, { field: 'Hash' });
        }
        throw error;
      });
      return {
        Registered: registrations.length > 0,
        Registration: registrations.map((registration) => ({ RID: registration.rid, RegisteredAt: new Date(registration.registeredAt), UserID: registration.userId })),
      };
    }
  }
}

const statusNames: Record<TaskInfo['status'], SoapTaskStatus> = {
  PENDING: 'Pending',
  RUNNING: 'Running',
  SUCCEEDED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
};

function taskInfoResponse(task: TaskInfo): ResponseRecord {
  return {
    TaskID: task.id,
    Status: statusNames[task.status],
    RID: task.rid,
    ErrorCode: task.error?.code,
    ErrorMessage: task.error?.message,
    CreatedAt: new Date(task.createdAt),
    FinishedAt: task.finishedAt != null ? new Date(task.finishedAt) : undefined,
  };
}

/** Download links are absolute (a SOAP client has no base URL); they need the client's credentials, the page does not. */
function registrationResponse(context: CoreContext, registration: Registration): ResponseRecord {
  const base = publicBaseUrl(context.registrations, context.host);
  const resource = `${base}/v1/registrations/${registration.rid}`;
  return {
    RID: registration.rid,
    RegisteredAt: new Date(registration.registeredAt),
    Title: registration.title ?? '',
    Description: registration.description ?? '',
    UserID: registration.userId,
    UserEMail: registration.userEmail,
    FileName: registration.kind === 'file' ? registration.name : undefined,
    Url: registration.url ?? undefined,
    ContentType: registration.contentType,
    Size: registration.size,
    SHA1: registration.sha1,
    SHA256: registration.sha256,
    TimestampToken: Buffer.from(registration.timestampToken, 'base64'),
    CertificateUrl: `${resource}/certificate.pdf`,
    EvidenceUrl: `${resource}/evidence.zip`,
    PageUrl: `${base}/r/${registration.rid}`,
  };
}
