import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { isForbiddenAddress } from './address-policy';

/**
 * HTTP(S) agents that cannot reach forbidden addresses (see address-policy), however the host name
 * resolves: the lookup refuses names with a forbidden address, and the peer of every new socket is
 * checked once connected, so neither DNS rebinding nor a resolver quirk slips through. IP-literal
 * hosts skip the lookup in Node; the peer check still catches them, and callers should refuse
 * them before connecting at all.
 */

export class ForbiddenAddressError extends Error {
  readonly code = 'EFORBIDDENADDRESS';
  constructor(address: string) {
    super(`forbidden address ${address}`);
  }
}

/** Resolves as usual but refuses the name if any of its addresses is forbidden. */
export const refusingLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const forbidden = addresses.find((a) => isForbiddenAddress(a.address));
    if (forbidden) return callback(new ForbiddenAddressError(forbidden.address), '');
    if (options.all) return callback(null, addresses);
    const [first] = addresses;
    if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
    return callback(null, first.address, first.family);
  });
};

/**
 * The last line of the SSRF guard: whatever resolved the name, the peer actually connected to is
 * checked before a byte of the request is written (the request's own writes wait for this
 * `connect` listener, registered first).
 */
function refuseForbiddenPeer(socket: Socket): Socket {
  socket.once('connect', () => {
    const peer = socket.remoteAddress;
    if (peer !== undefined && isForbiddenAddress(peer)) socket.destroy(new ForbiddenAddressError(peer));
  });
  return socket;
}

export class GuardedHttpAgent extends http.Agent {
  constructor(options: http.AgentOptions = {}) {
    super({ ...options, lookup: refusingLookup });
  }

  override createConnection(...args: Parameters<http.Agent['createConnection']>) {
    return refuseForbiddenPeer(super.createConnection(...args) as Socket);
  }
}

export class GuardedHttpsAgent extends https.Agent {
  constructor(options: https.AgentOptions = {}) {
    super({ ...options, lookup: refusingLookup });
  }

  override createConnection(...args: Parameters<https.Agent['createConnection']>) {
    return refuseForbiddenPeer(super.createConnection(...args) as Socket);
  }
}
