import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStack } from './synth';

/**
 * cdk-nag 3 runs as a CDK validation plugin: an unacknowledged error makes synth throw (with the
 * report), and every remaining finding, warnings included, is listed in the assembly's
 * validation report.
 */
interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; severity: string; violatingResources: unknown[] }[] }[];
}

test.each([
  ['the default deployment', {}],
  ['with CORS and an alarm e-mail', { corsOrigins: 'https://admin.example.com', alarmEmail: 'ops@example.com' }],
])('AWS Solutions checks leave no unacknowledged finding: %s', (_name, context) => {
  const { app, cleanup } = buildStack({ context });
  try {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as ValidationReport;
    const findings = report.pluginReports.flatMap((plugin) =>
      plugin.violations.map((v) => `${plugin.pluginName} ${v.severity} ${v.ruleName} ${JSON.stringify(v.violatingResources)}`),
    );
    expect(findings).toEqual([]);
  } finally {
    cleanup();
  }
});
