import { DEFAULTS } from '../shared/config';

/**
 * The bench's workload, shared by the bench and its producer process: 20 accounts × 5 webhooks
 * (the per-account maximum), each webhook subscribed to its own real-time event name, so every
 * event yields exactly one delivery and N events spread over 100 message groups.
 */
export const ACCOUNTS = 20;
export const FIRST_ACCOUNT = 7001;
/** Real-time events whose data all take the same fields (userId, loId, loInstanceId, loType). */
export const EVENT_NAMES = ['COURSE_ENROLLMENT', 'COURSE_COMPLETED', 'LEARNING_PATH_ENROLLMENT', 'LEARNING_PATH_COMPLETED', 'CERTIFICATION_COMPLETED'];
export const GROUPS = ACCOUNTS * EVENT_NAMES.length;
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const BUS_NAME = DEFAULTS.eventBusName;
export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export const groupOf = (g: number) => ({ accountId: FIRST_ACCOUNT + Math.floor(g / EVENT_NAMES.length), eventName: EVENT_NAMES[g % EVENT_NAMES.length]! });

/**
 * Event number `n` (counted across the whole run): its group is n mod 100, its place in the group n
 * div 100. `padding` brings the delivered request to the size under test (the catalogue's schemas
 * let extra fields through, as real LMS data carries them).
 */
export function eventData(n: number, sentAt: number, padding: string): Record<string, unknown> {
  const g = n % GROUPS;
  return { userId: 100_000 + n, loId: `course:${g}`, loInstanceId: `course:${g}_1`, loType: 'course', sentAt, seq: Math.floor(n / GROUPS), ...(padding && { padding }) };
}
