import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { handler as apiHandler } from '../../functions/api/handler';
import { resetSettings } from '../../shared/config';
import { LocalTokens } from './auth';
import { LocalApiServer } from './api-server';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { ensureTable } from './table';

/**
 * The whole service on one machine: DynamoDB Local, the admin API, the PutEvents endpoint, the
 * queues with their consumers and the batch schedule — hosting the same handlers as the Lambdas.
 */
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const LocalEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  EVENTS_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('.data'),
  EVENT_BUS_NAME: z
    .string()
    .min(1)
    .default('lms-webhooks')
    .refine((name) => name !== 'default', 'the default bus is not accepted; name the service bus'),
  BATCH_SCHEDULE: z.string().min(1).default('rate(15 minutes)'),
  ALLOW_PRIVATE_TARGETS: flag.default(true),
  TABLE_NAME: z.string().min(1).default('lms-webhooks'),
  ACCOUNT_CLAIM: z.string().min(1).default('accountId'),
});
export type LocalEnv = z.infer<typeof LocalEnvSchema>;

export function parseLocalEnv(env: Record<string, string | undefined>): LocalEnv {
  const result = LocalEnvSchema.safeParse(env);
  if (!result.success) {
    throw new Error(`Invalid configuration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return result.data;
}

export interface RuntimeOptions {
  readonly env: LocalEnv;
  /** Use this DynamoDB endpoint instead of starting DynamoDB Local under DATA_DIR (tests). */
  readonly dynamoDbEndpoint?: string;
}

export interface LocalRuntime {
  readonly apiUrl: string;
  readonly tokens: LocalTokens;
  stop(): Promise<void>;
}

export async function startLocalRuntime({ env, dynamoDbEndpoint }: RuntimeOptions): Promise<LocalRuntime> {
  const dataDir = resolve(env.DATA_DIR);
  await mkdir(dataDir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    let endpoint = dynamoDbEndpoint;
    if (!endpoint) {
      const dbPath = join(dataDir, 'dynamodb');
      await mkdir(dbPath, { recursive: true });
      const db: DynamoDbLocal = await startDynamoDbLocal({ dbPath });
      stops.push(() => db.stop());
      endpoint = db.endpoint;
    }
    // The handlers read their settings from the environment, exactly as in Lambda.
    Object.assign(process.env, {
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      TABLE_NAME: env.TABLE_NAME,
      EVENT_BUS_NAME: env.EVENT_BUS_NAME,
      BATCH_SCHEDULE: env.BATCH_SCHEDULE,
      ALLOW_PRIVATE_TARGETS: String(env.ALLOW_PRIVATE_TARGETS),
      ACCOUNT_CLAIM: env.ACCOUNT_CLAIM,
    });
    resetSettings();

    const dynamo = new DynamoDBClient({ endpoint });
    await ensureTable(dynamo, env.TABLE_NAME);
    dynamo.destroy();

    const tokens = await LocalTokens.open(dataDir, env.ACCOUNT_CLAIM);
    const api = new LocalApiServer({ host: env.HOST, port: env.PORT, handler: apiHandler, tokens });
    const apiUrl = await api.start();
    stops.push(() => api.stop());

    return { apiUrl, tokens, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
