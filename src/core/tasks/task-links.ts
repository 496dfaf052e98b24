import type { TaskInfo } from './task-info.js';

/** The links a task answer and its callback carry: where to look next. */
export function taskLinks(task: Pick<TaskInfo, 'id' | 'kind'>): Record<string, string> {
  const self = `/v1/tasks/${task.id}`;
  return {
    self,
    cancel: `${self}/cancel`,
    deliveries: `${self}/deliveries`,
    ...(task.kind === 'sign' && { operation: `/v1/signatures/${task.id}`, documents: `/v1/signatures/${task.id}/documents.zip` }),
  };
}
