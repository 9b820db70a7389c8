import type { LookupAddress } from 'node:dns';
import { ForbiddenAddressError, refusingLookup } from '../../shared/net/guarded-agents';

function resolve(hostname: string, all: boolean): Promise<{ err: Error | null; result: string | LookupAddress[]; family?: number }> {
  return new Promise((done) => refusingLookup(hostname, { all }, (err, result, family) => done({ err, result, family })));
}

describe('refusingLookup', () => {
  it.each([false, true])('refuses a name that resolves to loopback (all: %p)', async (all) => {
    const { err } = await resolve('localhost', all);
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect(err!.message).toMatch(/^forbidden address (127\.0\.0\.1|::1)$/);
  });

  // Numeric hosts resolve without any DNS traffic, so the allowed path is testable offline.
  it('passes a public address through in the shape the caller asked for', async () => {
    expect(await resolve('8.8.8.8', false)).toEqual({ err: null, result: '8.8.8.8', family: 4 });
    expect(await resolve('8.8.8.8', true)).toEqual({ err: null, result: [{ address: '8.8.8.8', family: 4 }], family: undefined });
  });
});
