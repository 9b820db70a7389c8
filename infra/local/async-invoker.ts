import type { Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

/**
 * A function as an EventBridge rule target: invoked asynchronously (the caller does not wait), its
 * failures logged; `stop()` waits for the invocations still running.
 */
export function asyncInvoker<E>(options: {
  readonly functionName: string;
  readonly timeoutSeconds: number;
  readonly handler: (event: E, context: Context) => Promise<unknown>;
  readonly onError?: (error: unknown) => void;
}): { invoke: (event: E) => void; stop: () => Promise<void> } {
  const running = new Set<Promise<unknown>>();
  const onError = options.onError ?? ((error: unknown) => console.error(`[${options.functionName}]`, error));
  return {
    invoke(event) {
      const run = options
        .handler(event, lambdaContext(options.functionName, options.timeoutSeconds))
        .catch(onError)
        .finally(() => running.delete(run));
      running.add(run);
    },
    async stop() {
      await Promise.all(running);
    },
  };
}
