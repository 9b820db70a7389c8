import { RemovalPolicy } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface CredentialsKeyProps {
  /** @default RemovalPolicy.RETAIN: the stored secrets are unreadable without the key */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The customer-managed KMS key that seals webhook credentials (envelope encryption, see
 * shared/secrets/envelope.ts). Its policy, not only IAM, decides who may use it: once
 * `restrictUse` names the roles, any other principal of the account — an admin's role included —
 * is refused data keys and decryption, while the account can still administer the key.
 */
export class CredentialsKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: CredentialsKeyProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Seals the LMS webhooks credentials (Basic passwords, signing secrets) at rest',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Only `seal` roles may generate data keys; only `open` roles may decrypt them. */
  restrictUse({ seal, open }: { seal: readonly IRole[]; open: readonly IRole[] }): void {
    const denyAllBut = (sid: string, actions: string[], roles: readonly IRole[]) =>
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid,
          effect: Effect.DENY,
          principals: [new AnyPrincipal()],
          actions,
          resources: ['*'],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': roles.map((role) => role.roleArn) } },
        }),
      );
    denyAllBut('OnlyTheServiceSealsCredentials', ['kms:GenerateDataKey*', 'kms:Encrypt', 'kms:ReEncrypt*'], seal);
    denyAllBut('OnlyTheServiceOpensCredentials', ['kms:Decrypt'], open);
  }
}
