import { EventBridgeClient } from '@aws-sdk/client-eventbridge';

let client: EventBridgeClient | undefined;

/** One EventBridge client per container; `AWS_ENDPOINT_URL_EVENTBRIDGE` points it at the local bus. */
export function eventBridge(): EventBridgeClient {
  client ??= new EventBridgeClient({});
  return client;
}
