import { KMSClient } from '@aws-sdk/client-kms';
import { lazy } from '../lazy';

/** One KMS client per container. */
export const kms = /* @__PURE__ */ lazy(() => new KMSClient({}));
