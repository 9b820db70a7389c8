import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { problemResponse } from '../../shared/api/app';
import { missingScope, ROUTES, type RouteDefinition } from '../../shared/api/routes';
import { ForbiddenError, MethodNotAllowedError, NotFoundError, PayloadTooLargeError, UnauthorizedError } from '../../shared/errors';
import { API_FUNCTION } from '../../shared/wiring';
import type { LocalTokens } from './auth';
import { lambdaContext } from './lambda-context';

/**
 * The local stand-in for API Gateway's HTTP API: matches the shared route table, checks the JWT
 * like the authorizer would, and hands the API Lambda handler the same payload-2.0 event.
 */
export type ApiHandler = (event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** API Gateway's own request size limit; the handler enforces the API's 64 KB. */
const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly pattern: RegExp;
  readonly names: string[];
}

const compiled: CompiledRoute[] = (ROUTES as readonly RouteDefinition[]).map((route) => {
  const names: string[] = [];
  const source = route.path.replace(/[.]/g, '\\.').replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
});

export interface ApiServerOptions {
  readonly host: string;
  readonly port: number;
  readonly handler: ApiHandler;
  readonly tokens: LocalTokens;
  /** Whether each route's scope is required, as the CDK stack's `requireScopes` does for the authorizer. */
  readonly requireScopes: boolean;
}

export class LocalApiServer {
  private server?: Server;

  constructor(private readonly options: ApiServerOptions) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => send(res, problemResponse(error)));
    });
    server.keepAliveTimeout = 5000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = server.address() as { port: number };
    return `http://${this.options.host}:${port}`;
  }

  /** Stops accepting connections and waits for requests in progress. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const match = matchRoute(req.method ?? 'GET', url.pathname);
    const body = await readBody(req);
    let claims: Record<string, string> | undefined;
    if (!match.route.public) {
      claims = await this.options.tokens.verify(req.headers.authorization);
      if (!claims) throw new UnauthorizedError('A valid bearer token is required.');
      const missing = this.options.requireScopes ? missingScope(match.route, claims.scope) : undefined;
      if (missing) {
        throw new ForbiddenError(`This token lacks the ${missing} scope that ${match.route.method} ${match.route.path} needs; ask for a token with it.`, [
          { field: 'scope', message: `${missing} required` },
        ]);
      }
    }
    const event = gatewayEvent(req, url, match, body, claims);
    const result = await this.options.handler(event, lambdaContext('api', API_FUNCTION.timeoutSeconds));
    send(res, result);
  }
}

function matchRoute(method: string, path: string): { route: RouteDefinition; pathParameters: Record<string, string> } {
  let pathMatched = false;
  for (const { route, pattern, names } of compiled) {
    const found = pattern.exec(path);
    if (!found) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const pathParameters: Record<string, string> = {};
    try {
      names.forEach((name, i) => (pathParameters[name] = decodeURIComponent(found[i + 1]!)));
    } catch {
      throw new NotFoundError('No such resource.');
    }
    return { route, pathParameters };
  }
  throw pathMatched ? new MethodNotAllowedError(`${method} is not allowed here.`) : new NotFoundError('No such route.');
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > GATEWAY_MAX_BODY_BYTES) throw new PayloadTooLargeError('The body is too large.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BODY_BYTES) throw new PayloadTooLargeError('The body is too large.');
    chunks.push(chunk as Buffer);
  }
  return size === 0 ? undefined : Buffer.concat(chunks).toString('utf8');
}

function gatewayEvent(
  req: IncomingMessage,
  url: URL,
  match: { route: RouteDefinition; pathParameters: Record<string, string> },
  body: string | undefined,
  claims: Record<string, string> | undefined,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const routeKey = `${match.route.method} ${match.route.path}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(Object.keys(match.pathParameters).length > 0 && { pathParameters: match.pathParameters }),
    ...(body !== undefined && { body }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: match.route.method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: claims ?? {}, scopes: claims?.scope?.split(' ').filter(Boolean) ?? [] } },
    },
  };
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  if (res.headersSent) return;
  res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
  res.end(result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''));
}
