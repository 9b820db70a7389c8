import { KMSClient } from '@aws-sdk/client-kms';

let client: KMSClient | undefined;

/** One KMS client per container. */
export function kms(): KMSClient {
  client ??= new KMSClient({});
  return client;
}
