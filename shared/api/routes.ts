/**
 * The admin API's routes: the one list that the CDK HTTP API, the local runtime's HTTP server and
 * the OpenAPI document are all built from. Paths use API Gateway's `{param}` syntax.
 */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * OAuth scopes (the token's space-separated `scope` claim): reading, changing, and handling the
 * signing secrets are separate, so a dashboard's token cannot download secrets or move targets.
 */
export const SCOPES = {
  read: 'webhooks:read',
  write: 'webhooks:write',
  secrets: 'webhooks:secrets',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];
export const ALL_SCOPES: readonly Scope[] = Object.values(SCOPES);

interface RouteBase {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
}
/** Public routes skip the JWT authorizer. */
interface PublicRoute extends RouteBase {
  readonly public: true;
  readonly scope?: never;
}
/** Every other route needs a token carrying its scope. */
interface ProtectedRoute extends RouteBase {
  readonly public?: never;
  readonly scope: Scope;
}
export type RouteDefinition = PublicRoute | ProtectedRoute;

export const ROUTES = [
  { method: 'GET', path: '/health', operationId: 'health', summary: 'Liveness probe', public: true },
  { method: 'GET', path: '/openapi.json', operationId: 'openapi', summary: 'This OpenAPI document', public: true },
  { method: 'GET', path: '/console', operationId: 'console', summary: 'The admin console (a web page)', public: true },
  { method: 'GET', path: '/console/{file}', operationId: 'consoleFile', summary: "The admin console's script and style sheet", public: true },
  { method: 'GET', path: '/events', operationId: 'listEvents', summary: 'The event catalogue', scope: SCOPES.read },
  { method: 'POST', path: '/webhooks', operationId: 'createWebhook', summary: 'Register a webhook', scope: SCOPES.write },
  { method: 'GET', path: '/webhooks', operationId: 'listWebhooks', summary: "This account's webhooks", scope: SCOPES.read },
  { method: 'GET', path: '/webhooks/{id}', operationId: 'getWebhook', summary: 'One webhook', scope: SCOPES.read },
  { method: 'PATCH', path: '/webhooks/{id}', operationId: 'updateWebhook', summary: 'Edit a webhook', scope: SCOPES.write },
  { method: 'DELETE', path: '/webhooks/{id}', operationId: 'deleteWebhook', summary: 'Delete a webhook', scope: SCOPES.write },
  { method: 'GET', path: '/webhooks/{id}/signature', operationId: 'downloadSignature', summary: 'Download the signing secret as JSON', scope: SCOPES.secrets },
  { method: 'POST', path: '/webhooks/{id}/signature/rotate', operationId: 'rotateSignature', summary: 'Rotate the signing secret', scope: SCOPES.secrets },
  { method: 'POST', path: '/webhooks/{id}/test', operationId: 'testWebhook', summary: 'Send a test event now', scope: SCOPES.write },
  { method: 'GET', path: '/webhooks/{id}/deliveries', operationId: 'listDeliveries', summary: 'The delivery log', scope: SCOPES.read },
  { method: 'GET', path: '/webhooks/{id}/deliveries/{deliveryId}', operationId: 'getDelivery', summary: 'One delivery with its attempts', scope: SCOPES.read },
  { method: 'POST', path: '/webhooks/{id}/deliveries/{deliveryId}/redeliver', operationId: 'redeliver', summary: 'Queue a delivery again', scope: SCOPES.write },
  { method: 'POST', path: '/webhooks/{id}/replay', operationId: 'replay', summary: 'Queue the deliveries of a time range again', scope: SCOPES.write },
  { method: 'GET', path: '/webhooks/{id}/replays/{replayId}', operationId: 'getReplay', summary: "A replay's progress", scope: SCOPES.read },
] as const satisfies readonly RouteDefinition[];

export type OperationId = (typeof ROUTES)[number]['operationId'];

/**
 * The route's scope when the token's `scope` claim (space-separated, as OAuth issues it) lacks it;
 * what API Gateway's JWT authorizer checks with the route's authorization scopes.
 */
export function missingScope(route: RouteDefinition, scopeClaim: string | undefined): Scope | undefined {
  if (route.public) return undefined;
  const granted = new Set((scopeClaim ?? '').split(' ').filter(Boolean));
  return granted.has(route.scope) ? undefined : route.scope;
}
