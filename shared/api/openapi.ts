import * as z from 'zod';
import { CatalogueViewSchema } from '../events/catalogue';
import { CreateWebhookSchema, UpdateWebhookSchema, WebhookViewSchema } from '../webhooks/model';
import { ProblemSchema } from './problem';
import { AttemptsQuerySchema, DeliveryListQuerySchema, ListQuerySchema } from './request';
import { DeliveryDetailViewSchema, DeliveryViewSchema } from '../deliveries/model';
import { ReplayRequestSchema, ReplayViewSchema } from '../deliveries/replay';
import { ROUTES, SCOPES, type OperationId, type RouteDefinition } from './routes';

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests, so the
 * document cannot drift from what the API accepts.
 */
interface OperationSpec {
  readonly requestBody?: z.ZodType;
  readonly query?: z.ZodObject;
  readonly responses: Readonly<Record<number, { description: string; schema?: z.ZodType; contentType?: string }>>;
}

const SigningSecretSchema = z.object({ signingSecret: z.string().optional() });
const pageOf = (item: z.ZodType) => z.object({ items: z.array(item), nextToken: z.string().optional() });

const SPECS: Record<OperationId, OperationSpec> = {
  health: { responses: { 200: { description: 'Up', schema: z.object({ status: z.literal('ok') }) } } },
  openapi: { responses: { 200: { description: 'This document' } } },
  console: { responses: { 200: { description: 'The admin console, an HTML page whose calls use the admin\'s token' } } },
  consoleFile: { responses: { 200: { description: "One of the console's static files (app.js, app.css)" }, 404: { description: 'No such file' } } },
  listEvents: { responses: { 200: { description: 'The event catalogue', schema: CatalogueViewSchema } } },
  createWebhook: {
    requestBody: CreateWebhookSchema,
    responses: {
      201: { description: 'Created; signingSecret is included once for Signature auth', schema: WebhookViewSchema.extend(SigningSecretSchema.shape) },
      409: { description: 'The account already holds its maximum of webhooks' },
    },
  },
  listWebhooks: { query: ListQuerySchema, responses: { 200: { description: "The account's webhooks", schema: pageOf(WebhookViewSchema) } } },
  getWebhook: { responses: { 200: { description: 'The webhook (never a secret)', schema: WebhookViewSchema } } },
  updateWebhook: {
    requestBody: UpdateWebhookSchema,
    responses: {
      200: { description: 'Updated; signingSecret is included when auth switched to Signature; heldRelease when re-enabling sent or discarded held deliveries', schema: WebhookViewSchema.extend(SigningSecretSchema.shape) },
      412: { description: 'If-Match did not match, or the webhook changed meanwhile' },
    },
  },
  deleteWebhook: { responses: { 204: { description: 'Deleted' } } },
  downloadSignature: { responses: { 200: { description: 'The signature JSON, as an attachment' }, 409: { description: 'Not a Signature webhook' } } },
  rotateSignature: {
    responses: {
      200: {
        description: 'The new secret; the previous one signs alongside it until previousSecretExpiresAt',
        schema: z.object({ signingSecret: z.string(), previousSecretExpiresAt: z.string().optional() }),
      },
    },
  },
  testWebhook: {
    responses: {
      200: {
        description: "The test request's outcome (also kept in the delivery log)",
        schema: z.object({
          delivered: z.boolean(),
          statusCode: z.number().int().nullable(),
          durationMs: z.number(),
          responseBody: z.string().nullable(),
          error: z.string().nullable(),
          deliveryId: z.string(),
        }),
      },
    },
  },
  listDeliveries: { query: DeliveryListQuerySchema, responses: { 200: { description: 'The delivery log, newest first', schema: pageOf(DeliveryViewSchema) } } },
  getDelivery: { query: AttemptsQuerySchema, responses: { 200: { description: 'One delivery with its attempts', schema: DeliveryDetailViewSchema } } },
  redeliver: {
    responses: {
      202: { description: 'Queued again, at the back of the webhook’s queue', schema: DeliveryViewSchema },
      409: { description: 'Still pending, or the webhook is not active' },
    },
  },
  replay: {
    requestBody: ReplayRequestSchema,
    responses: {
      202: {
        description:
          'Queued again at the back of the backlog, in original order, as copies sent with the original webhook-id and a webhook-replay header; the same request again answers with the same replay',
        schema: ReplayViewSchema,
      },
      400: { description: 'since is older than the log keeps, or not before until' },
      409: { description: 'The webhook is not active' },
    },
  },
  getReplay: { responses: { 200: { description: "The replay's progress: queued, sent, failed, remaining", schema: ReplayViewSchema } } },
};

const toSchema = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });

let cached: unknown;

export function openApiDocument(): unknown {
  cached ??= build();
  return cached;
}

function build(): unknown {
  const problem = { description: 'Problem details', content: { 'application/problem+json': { schema: toSchema(ProblemSchema, 'output') } } };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES as readonly RouteDefinition[]) {
    const spec = SPECS[route.operationId as OperationId];
    const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    const queryParams = spec?.query
      ? Object.entries(spec.query.shape).map(([name, schema]) => ({ name, in: 'query', required: false, schema: toSchema(schema as z.ZodType, 'input') }))
      : [];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(spec?.responses ?? {})) {
      responses[status] = {
        description: response.description,
        ...(response.schema && { content: { [response.contentType ?? 'application/json']: { schema: toSchema(response.schema, 'output') } } }),
      };
    }
    if (!route.public) Object.assign(responses, { 400: problem, 401: problem, 403: problem, 404: problem, 413: problem, 415: problem });
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      // OpenAPI 3.1 lets a non-OAuth scheme list the scopes (roles) an operation needs.
      security: route.public ? [] : [{ bearer: [route.scope] }],
      ...(pathParams.length + queryParams.length > 0 && { parameters: [...pathParams, ...queryParams] }),
      ...(spec?.requestBody && {
        requestBody: { required: true, content: { 'application/json': { schema: toSchema(spec.requestBody, 'input') } } },
      }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'LMS webhooks admin API',
      version: '1.0.0',
      description: 'Register webhooks that receive learning-platform events as signed JSON (Adobe Learning Manager compatible).',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "The account is the token's account claim. Each operation names the scope it needs in the token's space-separated " +
            `\`scope\` claim: \`${SCOPES.read}\` to read webhooks, deliveries and the catalogue; \`${SCOPES.write}\` to create, ` +
            `edit, delete, test and redeliver; \`${SCOPES.secrets}\` to download or rotate the signing secret. Without it: 403.`,
        },
      },
    },
    paths,
  };
}
