import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ALL_SCOPES, type Scope } from '../../shared/api/routes';
import { LocalTokens } from './auth';
import { parseLocalEnv } from './runtime';

const USAGE = `usage: npm run token -- <accountId> [--scope <scope>]...
  accountId  a positive integer
  --scope    narrows the token to this scope (repeatable): ${ALL_SCOPES.join(', ')}; without it the token has them all`;

/** `npm run token -- <accountId> [--scope …]`: prints an admin token for the local runtime on the same DATA_DIR. */
async function main(): Promise<void> {
  const { accountId, scopes } = parseTokenArguments(process.argv.slice(2));
  const env = parseLocalEnv(process.env);
  const tokens = await LocalTokens.open(resolve(env.DATA_DIR), env.ACCOUNT_CLAIM);
  console.log(await tokens.issue(accountId, { scopes }));
}

function parseTokenArguments(args: string[]): { accountId: number; scopes: readonly Scope[] } {
  const fail = (problem: string): never => {
    console.error(`${problem}\n${USAGE}`);
    process.exit(2);
  };
  const parsed = (() => {
    try {
      return parseArgs({ args, options: { scope: { type: 'string', multiple: true } }, allowPositionals: true });
    } catch (error) {
      return fail((error as Error).message);
    }
  })();
  const raw = parsed.positionals[0] ?? '';
  if (parsed.positionals.length !== 1 || !/^\d{1,15}$/.test(raw) || Number(raw) < 1) return fail('Name one account id.');
  const requested = parsed.values.scope ?? ALL_SCOPES;
  const unknown = requested.filter((scope) => !(ALL_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0) return fail(`Unknown scope ${unknown.join(', ')}.`);
  return { accountId: Number(raw), scopes: [...new Set(requested)] as Scope[] };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
