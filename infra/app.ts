import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LmsWebhooksStack } from './stack';

/** `npx cdk synth|deploy`: the service's stack, checked against cdk-nag's AWS Solutions rules on every synth. */
const app = new App();
new LmsWebhooksStack(app, 'LmsWebhooks', {
  description: 'LMS webhooks: signed, ordered webhooks for learning-platform events',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
