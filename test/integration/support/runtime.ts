import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalEnvSchema, parseLocalEnv, startLocalRuntime, type LocalRuntime } from '../../../infra/local/runtime';

/**
 * The local runtime as tests drive it: on loopback, ephemeral ports, its own table on the suite's
 * DynamoDB Local and a throw-away DATA_DIR.
 */
export interface TestRuntime extends LocalRuntime {
  tokenFor(accountId: number): Promise<string>;
  /** fetch against the admin API, with a bearer token for `accountId` unless `token` says otherwise. */
  api(path: string, init?: RequestInit & { accountId?: number; token?: string | null }): Promise<Response>;
}

/** `env` may also hold service settings (RETRY_DELAYS_SECONDS, …): the handlers read those from process.env. */
export async function startTestRuntime(env: Record<string, string> = {}): Promise<TestRuntime> {
  for (const [name, value] of Object.entries(env)) if (!(name in LocalEnvSchema.shape)) process.env[name] = value;
  const dataDir = await mkdtemp(join(tmpdir(), 'lms-webhooks-'));
  const runtime = await startLocalRuntime({
    env: parseLocalEnv({
      PORT: '0',
      EVENTS_PORT: '0',
      DATA_DIR: dataDir,
      TABLE_NAME: `test-${Math.random().toString(36).slice(2, 10)}`,
      ...env,
    }),
    dynamoDbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
  });
  const tokens = new Map<number, string>();
  const tokenFor = async (accountId: number) => {
    if (!tokens.has(accountId)) tokens.set(accountId, await runtime.tokens.issue(accountId));
    return tokens.get(accountId)!;
  };
  return {
    ...runtime,
    tokenFor,
    async api(path, init = {}) {
      const { accountId = 1010, token, headers, ...rest } = init;
      const bearer = token === null ? undefined : (token ?? (await tokenFor(accountId)));
      return fetch(runtime.apiUrl + path, {
        ...rest,
        headers: { ...(bearer && { authorization: `Bearer ${bearer}` }), ...(rest.body !== undefined && { 'content-type': 'application/json' }), ...(headers as Record<string, string>) },
      });
    },
    async stop() {
      await runtime.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
