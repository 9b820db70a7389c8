import { join } from 'node:path';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { credentialsCipher } from '../../shared/adapters/credentials-cipher';
import { dynamoDb } from '../../shared/adapters/dynamodb';
import { handleApiRequest, problemResponse, type ApiDependencies } from '../../shared/api/app';
import { ROUTES, type OperationId } from '../../shared/api/routes';
import { sqs } from '../../shared/adapters/sqs';
import { PendingStore } from '../../shared/batch/pending-store';
import { required, settings, type Settings } from '../../shared/config';
import { ConsoleAssets, type ConsoleSettings } from '../../shared/console/assets';
import { BacklogStateStore, DeliveryBacklog } from '../../shared/deliveries/backlog';
import { DoorbellQueue } from '../../shared/deliveries/queue';
import { DeliveryRepository } from '../../shared/deliveries/repository';
import { HealthCounters } from '../../shared/deliveries/health';
import { HeldDeliveries } from '../../shared/deliveries/held';
import { REPLAY_REQUEST_BUDGET_MS, ReplayStore } from '../../shared/deliveries/replay';
import { DeliveryService } from '../../shared/deliveries/service';
import { sendWebhook } from '../../shared/delivery/http-sender';
import { NotFoundError } from '../../shared/errors';
import { logger } from '../../shared/observability/logger';
import { WebhookRepository } from '../../shared/webhooks/repository';
import { WebhookService } from '../../shared/webhooks/service';

const operationByRouteKey = new Map<string, OperationId>(ROUTES.map((r) => [`${r.method} ${r.path}`, r.operationId]));

const EventSchema = z.object({
  routeKey: z.string(),
  headers: z.record(z.string(), z.string().optional()).optional(),
  queryStringParameters: z.record(z.string(), z.string().optional()).optional(),
  pathParameters: z.record(z.string(), z.string().optional()).optional(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
  requestContext: z.object({
    requestId: z.string().optional(),
    authorizer: z.object({ jwt: z.object({ claims: z.record(z.string(), z.unknown()) }) }).optional(),
  }),
});

let dependencies: ApiDependencies | undefined;
let backlog: { writer: DeliveryBacklog; state: BacklogStateStore } | undefined;
let consoleAssets: Promise<ConsoleAssets> | undefined;

function apiDependencies(): ApiDependencies {
  if (!dependencies) {
    const config = settings();
    const deliveryRepository = new DeliveryRepository(dynamoDb(), config.TABLE_NAME, config.DELIVERY_LOG_TTL_DAYS);
    const pending = new PendingStore(dynamoDb(), config.TABLE_NAME);
    dependencies = {
      accountClaim: config.ACCOUNT_CLAIM,
      webhooks: new WebhookService({
        repository: new WebhookRepository(dynamoDb(), config.TABLE_NAME),
        maxWebhooksPerAccount: config.MAX_WEBHOOKS_PER_ACCOUNT,
        allowPrivateTargets: config.ALLOW_PRIVATE_TARGETS,
        rotationOverlapSeconds: config.SECRET_ROTATION_OVERLAP_SECONDS,
        cipher: credentialsCipher(),
      }),
      deliveries: new DeliveryService({
        repository: deliveryRepository,
        backlog: () => {
          if (!backlog) {
            const state = new BacklogStateStore(dynamoDb(), config.TABLE_NAME, new DoorbellQueue(sqs(), required('DELIVERY_QUEUE_URL')));
            backlog = { writer: new DeliveryBacklog(deliveryRepository, state), state };
          }
          return backlog;
        },
        held: new HeldDeliveries(dynamoDb(), config.TABLE_NAME, config.DELIVERY_LOG_TTL_DAYS),
        health: new HealthCounters(dynamoDb(), config.TABLE_NAME),
        replays: new ReplayStore(dynamoDb(), config.TABLE_NAME, deliveryRepository, config.DELIVERY_LOG_TTL_DAYS),
        logTtlDays: config.DELIVERY_LOG_TTL_DAYS,
        replayBudgetMs: REPLAY_REQUEST_BUDGET_MS,
        retryWindowSeconds: config.RETRY_WINDOW_SECONDS,
        send: (request, options) => sendWebhook(request, options),
        allowPrivateTargets: config.ALLOW_PRIVATE_TARGETS,
      }),
      batchSummary: (webhookId) => pending.summary(webhookId, config.BATCH_SCHEDULE),
      console: { assets: loadConsoleAssets, settings: consoleSettings(config) },
      onUnexpectedError: (error) => logger.error('Unexpected error', error as Error),
    };
  }
  return dependencies;
}

/** The console's files ship in the function's package (see infra/constructs/api.ts); a failed read is retried on the next request. */
function loadConsoleAssets(): Promise<ConsoleAssets> {
  const dir = settings().CONSOLE_ASSETS_DIR ?? join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'console');
  consoleAssets ??= ConsoleAssets.load(dir).catch((error: unknown) => {
    consoleAssets = undefined;
    throw error;
  });
  return consoleAssets;
}

function consoleSettings(config: Settings): ConsoleSettings {
  const { CONSOLE_OIDC_ISSUER: issuer, CONSOLE_OIDC_CLIENT_ID: clientId } = config;
  return { maxWebhooks: config.MAX_WEBHOOKS_PER_ACCOUNT, ...(issuer && clientId && { oidc: { issuer, clientId } }) };
}

/** API Gateway HTTP API (payload 2.0) → the API core. Also hosted unchanged by the local runtime. */
export async function handler(event: APIGatewayProxyEventV2WithJWTAuthorizer, context?: Context): Promise<APIGatewayProxyStructuredResultV2> {
  logger.addContext(context ?? ({} as Context));
  const parsed = EventSchema.parse(event);
  const operationId = operationByRouteKey.get(parsed.routeKey);
  if (!operationId) return problemResponse(new NotFoundError('No such route.'));
  const headers = Object.fromEntries(Object.entries(parsed.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const response = await handleApiRequest(
    {
      operationId,
      pathParameters: Object.fromEntries(Object.entries(parsed.pathParameters ?? {}).filter((e): e is [string, string] => e[1] !== undefined)),
      query: parsed.queryStringParameters ?? {},
      headers,
      ...(parsed.body !== undefined && { body: parsed.body }),
      isBase64Encoded: parsed.isBase64Encoded ?? false,
      claims: Object.fromEntries(Object.entries(parsed.requestContext.authorizer?.jwt.claims ?? {}).map(([k, v]) => [k, String(v)])),
    },
    apiDependencies(),
  );
  logger.info('request', { routeKey: parsed.routeKey, status: response.statusCode });
  return response;
}
