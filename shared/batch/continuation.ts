import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import * as z from 'zod';
import { MAX_CONTINUATIONS, type ScheduledFlush } from './aggregator';
import { BATCH_CONTINUATION, INTERNAL_SOURCE } from '../events/sources';

/** The aggregator's own event that starts a continuation run (see BATCH_CONTINUATION_EVENT_PATTERN). */
export const ContinuationEventSchema = z.object({
  source: z.literal(INTERNAL_SOURCE),
  'detail-type': z.literal(BATCH_CONTINUATION),
  detail: z.object({
    firedAt: z.number().int().nonnegative(),
    generation: z.number().int().min(1).max(MAX_CONTINUATIONS),
  }),
});

export async function requestContinuation(client: EventBridgeClient, busName: string, next: ScheduledFlush): Promise<void> {
  // Loaded on first use, like the client (see adapters/eventbridge.ts).
  const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
  const result = await client.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: busName, Source: INTERNAL_SOURCE, DetailType: BATCH_CONTINUATION, Detail: JSON.stringify(next) }],
    }),
  );
  if (result.FailedEntryCount) throw new Error(`The batch continuation was refused: ${result.Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
}
