import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { LmsWebhooksStack } from '../../infra/stack';

export interface SynthOptions {
  readonly context?: Record<string, unknown>;
  /** Bundle the Lambdas with esbuild; tests about the template alone skip it to stay fast. */
  readonly bundle?: boolean;
}

/** The stack in an app of its own, writing to a temporary directory that `cleanup` removes. */
export function buildStack({ context = {}, bundle = false }: SynthOptions = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'lms-webhooks-cdk-'));
  const app = new App({
    outdir,
    context: { ...context, ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const cleanup = () => rmSync(outdir, { recursive: true, force: true });
  try {
    return { app, stack: new LmsWebhooksStack(app, 'LmsWebhooks'), cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

/** The logical id of the CloudFormation resource under a construct path such as `Ingest/Queue`. */
export function logicalId(stack: Stack, path: string): string {
  const construct = path.split('/').reduce<IConstruct>((scope, id) => scope.node.findChild(id), stack);
  return stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
}
