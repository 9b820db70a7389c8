/**
 * The admin API's routes: the one list that the CDK HTTP API, the local runtime's HTTP server and
 * the OpenAPI document are all built from. Paths use API Gateway's `{param}` syntax.
 */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  /** Public routes skip the JWT authorizer. */
  readonly public?: boolean;
}

export const ROUTES = [
  { method: 'GET', path: '/health', operationId: 'health', summary: 'Liveness probe', public: true },
  { method: 'GET', path: '/openapi.json', operationId: 'openapi', summary: 'This OpenAPI document', public: true },
  { method: 'GET', path: '/console', operationId: 'console', summary: 'The admin console (a web page)', public: true },
  { method: 'GET', path: '/console/{file}', operationId: 'consoleFile', summary: "The admin console's script and style sheet", public: true },
  { method: 'GET', path: '/events', operationId: 'listEvents', summary: 'The event catalogue' },
  { method: 'POST', path: '/webhooks', operationId: 'createWebhook', summary: 'Register a webhook' },
  { method: 'GET', path: '/webhooks', operationId: 'listWebhooks', summary: "This account's webhooks" },
  { method: 'GET', path: '/webhooks/{id}', operationId: 'getWebhook', summary: 'One webhook' },
  { method: 'PATCH', path: '/webhooks/{id}', operationId: 'updateWebhook', summary: 'Edit a webhook' },
  { method: 'DELETE', path: '/webhooks/{id}', operationId: 'deleteWebhook', summary: 'Delete a webhook' },
  { method: 'GET', path: '/webhooks/{id}/signature', operationId: 'downloadSignature', summary: 'Download the signing secret as JSON' },
  { method: 'POST', path: '/webhooks/{id}/signature/rotate', operationId: 'rotateSignature', summary: 'Rotate the signing secret' },
  { method: 'POST', path: '/webhooks/{id}/test', operationId: 'testWebhook', summary: 'Send a test event now' },
  { method: 'GET', path: '/webhooks/{id}/deliveries', operationId: 'listDeliveries', summary: 'The delivery log' },
  { method: 'GET', path: '/webhooks/{id}/deliveries/{deliveryId}', operationId: 'getDelivery', summary: 'One delivery with its attempts' },
  { method: 'POST', path: '/webhooks/{id}/deliveries/{deliveryId}/redeliver', operationId: 'redeliver', summary: 'Queue a delivery again' },
] as const satisfies readonly RouteDefinition[];

export type OperationId = (typeof ROUTES)[number]['operationId'];
