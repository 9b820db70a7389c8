import type { BatchSummary } from '../batch/pending-store';
import { AccountIdSchema } from '../account';
import { catalogueView } from '../events/catalogue';
import type { ConsoleAssets, ConsoleSettings } from './console-assets';
import { NotFoundError, UnauthorizedError, ValidationError } from '../errors';
import { ID_PATTERN } from '../ids';
import { CreateWebhookSchema, toView, UpdateWebhookSchema, type Webhook } from '../webhooks/model';
import type { WebhookService } from '../webhooks/service';
import { ReplayRequestSchema } from '../deliveries/replay';
import type { DeliveryService } from './delivery-service';
import { openApiDocument } from './openapi';
import { problemFor, PROBLEM_CONTENT_TYPE } from './problem';
import { AttemptsQuerySchema, DeliveryListQuerySchema, jsonBody, ListQuerySchema, queryParameters, type ApiRequest, type ApiResponse } from './request';
import type { OperationId } from './routes';

/** What the API core needs; built once per container by the handler (or by a test). */
export interface ApiDependencies {
  readonly webhooks: WebhookService;
  readonly deliveries: DeliveryService;
  /** Pending batch events and the next flush, shown by `GET /webhooks/{id}`. */
  readonly batchSummary?: (webhookId: string) => Promise<BatchSummary>;
  readonly accountClaim: string;
  /** The admin console's files (loaded on first use) and the settings its page carries. */
  readonly console?: { readonly assets: () => Promise<ConsoleAssets>; readonly settings: ConsoleSettings };
  readonly onUnexpectedError?: (error: unknown) => void;
}

interface Context {
  readonly request: ApiRequest;
  readonly deps: ApiDependencies;
  readonly accountId: number;
}

type Operation = (context: Context) => Promise<ApiResponse>;

type PublicOperationId = 'health' | 'openapi' | 'console' | 'consoleFile';

const operations: Record<Exclude<OperationId, PublicOperationId>, Operation> = {
  listEvents: async () => json(200, catalogueView()),

  createWebhook: async ({ request, deps, accountId }) => {
    const input = jsonBody(request, CreateWebhookSchema);
    const { webhook, signingSecret } = await deps.webhooks.create(accountId, input);
    return json(201, { ...toView(webhook), ...(signingSecret && { signingSecret }) }, {
      location: `/webhooks/${webhook.id}`,
      ...etag(webhook),
      ...(signingSecret && { 'cache-control': 'no-store' }),
    });
  },

  listWebhooks: async ({ request, deps, accountId }) => {
    const { limit, nextToken } = queryParameters(request, ListQuerySchema);
    return json(200, await deps.webhooks.list(accountId, limit, nextToken));
  },

  getWebhook: async ({ request, deps, accountId }) => {
    const webhook = await deps.webhooks.get(accountId, webhookId(request));
    const [batch, held] = await Promise.all([deps.batchSummary?.(webhook.id), deps.deliveries.summary(webhook)]);
    return json(200, { ...toView(webhook), ...batch, ...held }, etag(webhook));
  },

  updateWebhook: async ({ request, deps, accountId }) => {
    const changes = jsonBody(request, UpdateWebhookSchema);
    const { webhook, signingSecret, reenabled } = await deps.webhooks.update(accountId, webhookId(request), changes, ifMatch(request));
    // Re-enabled after being disabled for failing: what was held for it goes out first (or is discarded).
    const held = reenabled && (await deps.deliveries.releaseHeld(webhook, reenabled));
    const released = held && held.released + held.skipped > 0 ? { heldRelease: { released: held.released, skipped: held.skipped } } : undefined;
    return json(200, { ...toView(webhook), ...(signingSecret && { signingSecret }), ...released }, {
      ...etag(webhook),
      ...(signingSecret && { 'cache-control': 'no-store' }),
    });
  },

  deleteWebhook: async ({ request, deps, accountId }) => {
    await deps.webhooks.delete(accountId, webhookId(request));
    return { statusCode: 204, headers: {} };
  },

  downloadSignature: async ({ request, deps, accountId }) => {
    const document = await deps.webhooks.signatureDocument(accountId, webhookId(request));
    return json(200, document, {
      'content-disposition': `attachment; filename="webhook-${document.webhookId}-signature.json"`,
      'cache-control': 'no-store',
    });
  },

  rotateSignature: async ({ request, deps, accountId }) => {
    const { webhook, signingSecret, previousSecretExpiresAt } = await deps.webhooks.rotateSigningSecret(accountId, webhookId(request));
    return json(200, { signingSecret, ...(previousSecretExpiresAt && { previousSecretExpiresAt }) }, { 'cache-control': 'no-store', ...etag(webhook) });
  },

  testWebhook: async ({ request, deps, accountId }) => {
    const webhook = await deps.webhooks.getWithCredentials(accountId, webhookId(request));
    return json(200, await deps.deliveries.test(webhook));
  },

  listDeliveries: async ({ request, deps, accountId }) => {
    const query = queryParameters(request, DeliveryListQuerySchema);
    const webhook = await deps.webhooks.get(accountId, webhookId(request));
    return json(200, await deps.deliveries.list(webhook, query));
  },

  getDelivery: async ({ request, deps, accountId }) => {
    const page = queryParameters(request, AttemptsQuerySchema);
    const webhook = await deps.webhooks.get(accountId, webhookId(request));
    return json(200, await deps.deliveries.get(webhook, request.pathParameters.deliveryId ?? '', page));
  },

  redeliver: async ({ request, deps, accountId }) => {
    const webhook = await deps.webhooks.get(accountId, webhookId(request));
    return json(202, await deps.deliveries.redeliver(webhook, request.pathParameters.deliveryId ?? ''));
  },

  replay: async ({ request, deps, accountId }) => {
    const input = jsonBody(request, ReplayRequestSchema);
    const webhook = await deps.webhooks.get(accountId, webhookId(request));
    const replay = await deps.deliveries.replay(webhook, input);
    return json(202, replay, { location: `/webhooks/${webhook.id}/replays/${replay.replayId}` });
  },

  getReplay: async ({ request, deps, accountId }) => {
    const webhook = await deps.webhooks.get(accountId, webhookId(request));
    return json(200, await deps.deliveries.replayStatus(webhook, request.pathParameters.replayId ?? ''));
  },
};

/** Routes every API request: public routes, then the caller's account from the JWT claims, then the operation. */
export async function handleApiRequest(request: ApiRequest, deps: ApiDependencies): Promise<ApiResponse> {
  try {
    if (request.operationId === 'health') return json(200, { status: 'ok' });
    if (request.operationId === 'openapi') return json(200, openApiDocument());
    if (request.operationId === 'console') return (await consoleOf(deps).assets()).page(consoleOf(deps).settings);
    if (request.operationId === 'consoleFile') return (await consoleOf(deps).assets()).file(request.pathParameters.file ?? '', request.headers['accept-encoding']);
    return await operations[request.operationId]({ request, deps, accountId: accountFromClaims(request.claims, deps.accountClaim) });
  } catch (error) {
    if (problemFor(error).status >= 500) deps.onUnexpectedError?.(error);
    return problemResponse(error);
  }
}

export function problemResponse(error: unknown): ApiResponse {
  const problem = problemFor(error);
  return {
    statusCode: problem.status,
    headers: {
      'content-type': PROBLEM_CONTENT_TYPE,
      ...(problem.status === 401 && { 'www-authenticate': 'Bearer' }),
    },
    body: JSON.stringify(problem),
  };
}

export function accountFromClaims(claims: Readonly<Record<string, unknown>> | undefined, claimName: string): number {
  const result = AccountIdSchema.safeParse(claims?.[claimName]);
  if (!result.success) throw new UnauthorizedError(`The token carries no valid ${claimName} claim.`);
  return result.data;
}

function consoleOf(deps: ApiDependencies): NonNullable<ApiDependencies['console']> {
  if (!deps.console) throw new NotFoundError('This deployment serves no console.');
  return deps.console;
}

/** Unknown or malformed ids are "not found", the same answer as another account's webhook. */
function webhookId(request: ApiRequest): string {
  const id = request.pathParameters.id;
  if (!id || !ID_PATTERN.test(id)) throw new NotFoundError(`No webhook ${id ?? ''}.`.trim());
  return id;
}

function ifMatch(request: ApiRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!match) throw new ValidationError('If-Match must be an ETag this API returned.', [{ field: 'If-Match', message: 'invalid ETag' }]);
  return Number(match[1]);
}

function etag(webhook: Webhook): Record<string, string> {
  return { etag: `"${webhook.version}"` };
}

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}
