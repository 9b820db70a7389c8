import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { lazy } from '../lazy';

/**
 * One EventBridge client per container; `AWS_ENDPOINT_URL_EVENTBRIDGE` points it at the local bus.
 * Loaded on first use: the functions that put events (the delivery's notices, the aggregator's
 * continuations) do so rarely, so their cold starts do not load the SDK client.
 */
export const eventBridge = /* @__PURE__ */ lazy(
  async (): Promise<EventBridgeClient> => new (await import('@aws-sdk/client-eventbridge')).EventBridgeClient({}),
);
