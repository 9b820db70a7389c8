import type { EnvelopeCipher } from '../secrets/envelope';
import type { Credentials, Webhook, WebhookWithCredentials } from './model';

/**
 * Webhook secrets at rest: sealed with the credentials cipher and bound to their webhook, so the
 * table, its backups and exports hold only ciphertext, and a sealed value moved to another webhook
 * does not open.
 */
function contextOf(webhook: Pick<Webhook, 'accountId' | 'id'>): string {
  return `webhook-credentials:${webhook.accountId}:${webhook.id}`;
}

/** The sealed form of `credentials`, or undefined when there is nothing secret (auth NONE). */
export async function sealCredentials(
  cipher: EnvelopeCipher,
  webhook: Pick<Webhook, 'accountId' | 'id'>,
  credentials: Credentials,
): Promise<string | undefined> {
  if (!credentials.basic && !credentials.signingSecrets) return undefined;
  return cipher.seal(JSON.stringify(credentials), contextOf(webhook));
}

export async function openCredentials(cipher: EnvelopeCipher, webhook: Webhook): Promise<WebhookWithCredentials> {
  if (!webhook.sealedCredentials) {
    // Never send a Basic or Signature webhook's requests without its credentials.
    if (webhook.authType !== 'NONE') throw new Error(`Webhook ${webhook.id} has ${webhook.authType} auth but no sealed credentials.`);
    return { ...webhook, credentials: {} };
  }
  const credentials = JSON.parse(await cipher.open(webhook.sealedCredentials, contextOf(webhook))) as Credentials;
  return { ...webhook, credentials };
}
