/** CloudWatch metrics (Powertools EMF) that the alarms watch. */
export const METRICS = {
  namespace: 'LmsWebhooks',
  service: 'lms-webhooks',
  deliveryAttempts: 'DeliveryAttempts',
  deliveryFailures: 'DeliveryFailures',
  rejectedEvents: 'RejectedEvents',
  webhooksDisabled: 'WebhooksDisabled',
  /** Published by the sweeper: how long the most overdue doorbell has been waiting. */
  oldestDueBacklogSeconds: 'OldestDueBacklogSeconds',
  doorbellsRungAgain: 'DoorbellsRungAgain',
} as const;
