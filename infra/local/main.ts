import { describeRecovery } from './queues';
import { parseLocalEnv, startLocalRuntime } from './runtime';

/** `npm start`: the whole service on this machine, until SIGINT / SIGTERM. */
const DEMO_ACCOUNT = 1010;

async function main(): Promise<void> {
  const startedAt = Date.now();
  const env = parseLocalEnv(process.env);
  const runtime = await startLocalRuntime({ env });
  const token = await runtime.tokens.issue(DEMO_ACCOUNT);
  console.log(`Admin API:  ${runtime.apiUrl}`);
  console.log(`PutEvents:  ${runtime.eventsUrl}  (bus ${env.EVENT_BUS_NAME})`);
  console.log(`Admin token for account ${DEMO_ACCOUNT}:\n${token}`);
  // The token rides in the fragment, which browsers never send: it stays out of every server log.
  console.log(`Console:    ${runtime.apiUrl}/console#token=${token}`);
  if (runtime.recoveredQueues) console.log(describeRecovery(runtime.recoveredQueues));
  console.log(`started in ${Date.now() - startedAt} ms`);
  console.log('ready');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
