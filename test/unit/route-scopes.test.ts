import { ALL_SCOPES, missingScope, ROUTES, SCOPES, type RouteDefinition } from '../../shared/api/routes';

const routes: readonly RouteDefinition[] = ROUTES;
const route = (operationId: string) => routes.find((r) => r.operationId === operationId)!;

describe('route scopes', () => {
  it('asks for read on the GET routes, secrets on the signature routes and write on the rest', () => {
    const byScope = (scope: string) => routes.filter((r) => r.scope === scope).map((r) => r.operationId).sort();
    expect(byScope(SCOPES.read)).toEqual(['getDelivery', 'getReplay', 'getWebhook', 'listDeliveries', 'listEvents', 'listWebhooks']);
    expect(byScope(SCOPES.write)).toEqual(['createWebhook', 'deleteWebhook', 'redeliver', 'replay', 'testWebhook', 'updateWebhook']);
    expect(byScope(SCOPES.secrets)).toEqual(['downloadSignature', 'rotateSignature']);
    expect(routes.filter((r) => !r.scope).map((r) => r.operationId)).toEqual(['health', 'openapi', 'console', 'consoleFile']);
  });

  it('finds the scope in a space-separated claim, and names it when missing', () => {
    expect(missingScope(route('downloadSignature'), 'webhooks:read webhooks:secrets')).toBeUndefined();
    expect(missingScope(route('downloadSignature'), 'webhooks:read')).toBe('webhooks:secrets');
    expect(missingScope(route('createWebhook'), undefined)).toBe('webhooks:write');
    expect(missingScope(route('createWebhook'), 'webhooks:write2 xwebhooks:write')).toBe('webhooks:write');
    expect(missingScope(route('listWebhooks'), ALL_SCOPES.join('  '))).toBeUndefined();
    expect(missingScope(route('health'), undefined)).toBeUndefined();
  });
});
