import { resolve } from 'node:path';
import { LocalTokens } from './auth';
import { parseLocalEnv } from './runtime';

/** `npm run token -- <accountId>`: prints an admin token for the local runtime on the same DATA_DIR. */
async function main(): Promise<void> {
  const raw = process.argv[2] ?? '';
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) {
    console.error('usage: npm run token -- <accountId>   (a positive integer)');
    process.exit(2);
  }
  const env = parseLocalEnv(process.env);
  const tokens = await LocalTokens.open(resolve(env.DATA_DIR), env.ACCOUNT_CLAIM);
  console.log(await tokens.issue(Number(raw)));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
