import { SQSClient } from '@aws-sdk/client-sqs';

/** Clients for the local AWS stand-ins: loopback endpoints, dummy credentials. */
export const region = 'us-east-1';
export const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region, credentials });
}

/** A promise that a test resolves by hand, to hold a handler at a known point. */
export function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Whether the promise has settled once pending I/O callbacks have run. */
export async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}
