import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { lazy } from '../lazy';

/** One EventBridge client per container; `AWS_ENDPOINT_URL_EVENTBRIDGE` points it at the local bus. */
export const eventBridge = /* @__PURE__ */ lazy(() => new EventBridgeClient({}));
