import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { doorbells, drain } from '../../shared/container';
import { answerDoorbells } from './doorbells';
import { logger } from '../../shared/observability/logger';
import { lambdaHandler } from '../../shared/observability/middleware';

/** Stop starting new requests when less than one full attempt (connect + response) of time is left. */
const TIME_FOR_ONE_ATTEMPT_MS = 20_000;

/** The delivery queue's consumer: answers a batch of doorbells (see functions/delivery/doorbells.ts). */
async function answer(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return answerDoorbells(event.Records, {
    drain: drain(),
    queue: doorbells(),
    hasTime: () => context.getRemainingTimeInMillis() >= TIME_FOR_ONE_ATTEMPT_MS,
    onDeadLetter: (messageId) => logger.error('malformed delivery message dead-lettered', { messageId }),
    onDrainError: (messageId, error) => logger.error('drain failed', { messageId, error: error as Error }),
    onDeleteError: (messageId, error) => logger.warn('drained doorbell not deleted; Lambda deletes it with the batch', { messageId, error: error as Error }),
  });
}

export const handler = lambdaHandler(answer);
