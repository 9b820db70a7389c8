import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { handleApiRequest, problemResponse } from '../../shared/api/app';
import { ROUTES, type OperationId } from '../../shared/api/routes';
import { api } from '../../shared/container';
import { NotFoundError } from '../../shared/errors';
import { logger } from '../../shared/observability/logger';
import { lambdaHandler } from '../../shared/observability/middleware';

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

/** API Gateway HTTP API (payload 2.0) → the API core. Also hosted unchanged by the local runtime. */
async function serve(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<APIGatewayProxyStructuredResultV2> {
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
    api(),
  );
  logger.info('request', { routeKey: parsed.routeKey, status: response.statusCode });
  return response;
}

export const handler = lambdaHandler(serve);
