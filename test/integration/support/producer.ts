import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';

/** A producer as the contract describes it: an unchanged EventBridge client pointed at the local endpoint. */
export function producer(eventsUrl: string, busName = 'lms-webhooks') {
  const client = new EventBridgeClient({ endpoint: eventsUrl, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return {
    client,
    entry(eventName: string, detail: Record<string, unknown>): PutEventsRequestEntry {
      return { EventBusName: busName, Source: 'lms', DetailType: eventName, Detail: JSON.stringify(detail) };
    },
    async put(entries: PutEventsRequestEntry[]) {
      const result = await client.send(new PutEventsCommand({ Entries: entries }));
      return result;
    },
    close: () => client.destroy(),
  };
}
