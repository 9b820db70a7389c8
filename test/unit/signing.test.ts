import { Webhook } from 'standardwebhooks';
import { generateSigningSecret, signatureHeader } from '../../shared/signing';

describe('Standard Webhooks signing', () => {
  const body = JSON.stringify({ accountId: 1010, events: [] });
  const timestamp = Math.floor(Date.now() / 1000);

  it('produces signatures the stock verifier accepts', () => {
    const secret = generateSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const headers = {
      'webhook-id': 'dlv_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader([secret], 'dlv_1', timestamp, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('signs with every live secret during a rotation, so old and new verifiers both accept', () => {
    const [previous, current] = [generateSigningSecret(), generateSigningSecret()];
    const header = signatureHeader([current, previous], 'dlv_2', timestamp, body);
    expect(header.split(' ')).toHaveLength(2);
    for (const secret of [previous, current]) {
      const headers = { 'webhook-id': 'dlv_2', 'webhook-timestamp': String(timestamp), 'webhook-signature': header };
      expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    }
  });

  it('is rejected for a tampered body', () => {
    const secret = generateSigningSecret();
    const headers = {
      'webhook-id': 'dlv_3',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader([secret], 'dlv_3', timestamp, body),
    };
    expect(() => new Webhook(secret).verify(body + ' ', headers)).toThrow();
  });
});
