import type { EventBridgeClient, EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { lazy } from '../lazy';

let transport: EventBridgeClientConfig['requestHandler'];

/**
 * One EventBridge client per container; `AWS_ENDPOINT_URL_EVENTBRIDGE` points it at the local bus.
 * Loaded on first use: the functions that put events (the delivery's notices, the aggregator's
 * continuations) do so rarely, so their cold starts do not load the SDK client.
 */
export const eventBridge = /* @__PURE__ */ lazy(
  async (): Promise<EventBridgeClient> => new (await import('@aws-sdk/client-eventbridge')).EventBridgeClient(transport ? { requestHandler: transport } : {}),
);

/**
 * For hosts other than Lambda: the local runtime hands the service's own puts to its bus in-process,
 * the one way to put the service's Sources there (as only the functions' roles may in AWS).
 */
export function useEventBridgeTransport(handler: EventBridgeClientConfig['requestHandler']): void {
  transport = handler;
}
