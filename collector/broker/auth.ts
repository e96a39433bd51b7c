// Who may connect to the embedded broker, as which device, and what each device may publish.
// Pure functions of the configuration, so the rules are tested without a socket.
//
// A device is bound once, at CONNECT, and every later decision uses that binding, never what a
// message says about itself: a device can only ever speak for its own id.

import { createHash, timingSafeEqual } from 'node:crypto';
import { NAME_CHARS, parseTopic, type MessageKind } from '../../agent/wire/index.js';
import type { DeviceCredential } from '../config/types.js';

/** The client id every agent connects with: `edgewatch-agent-<device>`. */
export const AGENT_CLIENT_PREFIX = 'edgewatch-agent-';

/** MQTT 3.1.1 CONNACK return codes the broker answers a refused CONNECT with. */
export const CONNACK_BAD_CREDENTIALS = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

export type Admission =
  | { ok: true; device: string; anonymous: boolean }
  | { ok: false; returnCode: typeof CONNACK_BAD_CREDENTIALS | typeof CONNACK_NOT_AUTHORIZED; why: string };

export type PublishDecision =
  | { ok: true; site: string; device: string; kind: MessageKind | 'status' }
  | { ok: false; why: string };

/** The device id a client id names, or null when it is not `edgewatch-agent-<device>`. */
export function deviceOfClientId(clientId: string): string | null {
  if (!clientId.startsWith(AGENT_CLIENT_PREFIX)) return null;
  const device = clientId.slice(AGENT_CLIENT_PREFIX.length);
  return NAME_CHARS.test(device) ? device : null;
}

// Passwords are compared as SHA-256 digests: equal lengths for timingSafeEqual whatever was sent,
// so neither the password's length nor its first differing byte shows in the answer time.
function digest(secret: Buffer | string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export class DeviceGate {
  private readonly passwords = new Map<string, Buffer>();
  /** Compared against when the username is unknown, so an unknown device costs the same time. */
  private readonly decoy = digest('edgewatch: no such device');

  constructor(
    devices: readonly DeviceCredential[],
    private readonly allowAnonymous: boolean,
  ) {
    for (const d of devices) this.passwords.set(d.id, digest(d.password));
  }

  /**
   * Decides a CONNECT. The client id must be `edgewatch-agent-<device>`: the broker drops an older
   * connection with the same client id, so a free choice of id would let one device knock another
   * off. A username that is a configured device must bring its password (even when anonymous
   * devices are allowed); without one, the client is admitted only when mqtt.allow_anonymous is on,
   * and the client id names the device.
   */
  admit(clientId: string, username: string | undefined, password: Buffer | undefined): Admission {
    const fromId = deviceOfClientId(clientId);
    const user = username === undefined || username === '' ? null : username;
    if (user !== null) {
      const expected = this.passwords.get(user);
      const match = timingSafeEqual(digest(password ?? Buffer.alloc(0)), expected ?? this.decoy);
      if (expected !== undefined) {
        if (!match || password === undefined) {
          return { ok: false, returnCode: CONNACK_BAD_CREDENTIALS, why: `wrong password for device ${JSON.stringify(user)} (mqtt.devices)` };
        }
        if (fromId !== user) {
          return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, why: `client id ${JSON.stringify(clientId)} is not ${AGENT_CLIENT_PREFIX}${user}` };
        }
        return { ok: true, device: user, anonymous: false };
      }
      if (!this.allowAnonymous) {
        return { ok: false, returnCode: CONNACK_BAD_CREDENTIALS, why: `device ${JSON.stringify(user)} is not in mqtt.devices` };
      }
      if (fromId !== user) {
        return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, why: `client id ${JSON.stringify(clientId)} is not ${AGENT_CLIENT_PREFIX}${user}` };
      }
      return { ok: true, device: user, anonymous: true };
    }
    if (!this.allowAnonymous) {
      return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, why: 'no username, and mqtt.allow_anonymous is off' };
    }
    if (fromId === null) {
      return {
        ok: false,
        returnCode: CONNACK_NOT_AUTHORIZED,
        why: `anonymous client id ${JSON.stringify(clientId)} does not name a device (expected ${AGENT_CLIENT_PREFIX}<device>)`,
      };
    }
    return { ok: true, device: fromId, anonymous: true };
  }
}

/**
 * Decides a PUBLISH by a client bound to `device`: only `edgewatch/v1/<any site>/<device>/<kind>`.
 * The site is not checked: it is the device's own setting, and a device moved to another site keeps
 * its id.
 */
export function authorizeTopic(device: string, topic: string): PublishDecision {
  const t = parseTopic(topic);
  if (t === null) return { ok: false, why: `topic ${JSON.stringify(topic)} is not edgewatch/v1/<site>/<device>/<kind>` };
  if (t.device !== device) return { ok: false, why: `device ${JSON.stringify(device)} may not publish for device ${JSON.stringify(t.device)}` };
  return { ok: true, ...t };
}
