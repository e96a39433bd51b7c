// A bare MQTT 3.1.1 publisher for the collector benchmark's fleet simulator: the packets of a
// device's session are encoded once, before anything is timed, and a session only writes them and
// reads CONNACK and PUBACKs. On the wire it is what agent/sync/publisher.ts sends through mqtt.js (a
// persistent session, a last will, QoS 1 publishes, DISCONNECT); it costs the simulator a fraction
// of mqtt.js's CPU, so on a 2-core machine the collector is measured, not the load generator.
// Packet layouts: MQTT 3.1.1 (OASIS), sections 2.2 and 3.
import net from 'node:net';

/** Remaining Length (MQTT 3.1.1, 2.2.3): 7 bits a byte, high bit set on all but the last. */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  if (out.length > 4) throw new Error(`packet too large for MQTT: ${n}`);
  return Buffer.from(out);
}

function utf8Field(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function binaryField(b: Uint8Array): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

export interface ConnectOptions {
  clientId: string;
  username: string | null;
  cleanSession: boolean;
  keepaliveS: number;
  will: { topic: string; payload: Uint8Array; qos: 0 | 1; retain: boolean } | null;
}

export function connectPacket(o: ConnectOptions): Buffer {
  let flags = o.cleanSession ? 0x02 : 0;
  if (o.will !== null) flags |= 0x04 | (o.will.qos << 3) | (o.will.retain ? 0x20 : 0);
  if (o.username !== null) flags |= 0x80;
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(o.keepaliveS);
  const parts = [utf8Field('MQTT'), Buffer.from([4, flags]), keepalive, utf8Field(o.clientId)];
  if (o.will !== null) parts.push(utf8Field(o.will.topic), binaryField(o.will.payload));
  if (o.username !== null) parts.push(utf8Field(o.username));
  return packet(0x10, Buffer.concat(parts));
}

/** A QoS 1 PUBLISH with packet id `id` (1..65535). */
export function publishPacket(topic: string, payload: Uint8Array, id: number, retain = false): Buffer {
  const pid = Buffer.alloc(2);
  pid.writeUInt16BE(id);
  return packet(0x32 | (retain ? 0x01 : 0), Buffer.concat([utf8Field(topic), pid, payload]));
}

export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** One device's session, encoded: CONNECT, then `publishes` (QoS 1, ids 1..n) written together. */
export interface RawSession {
  connect: Buffer;
  publishes: Buffer;
  count: number;
}

/**
 * Connects, waits for CONNACK, writes every PUBLISH, waits for a PUBACK of each, sends DISCONNECT
 * and resolves when the broker has closed the socket. Rejects on a refused CONNACK, a lost
 * connection, or `timeoutMs` without an answer.
 */
export function runRawSession(host: string, port: number, s: RawSession, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, noDelay: true });
    let buf: Buffer = Buffer.alloc(0);
    let connacked = false;
    let acked = 0;
    let finished = false;
    const timer = setTimeout(() => fail(new Error(`no answer in ${timeoutMs} ms (CONNACK ${connacked}, PUBACKs ${acked}/${s.count})`)), timeoutMs);
    const fail = (err: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve();
    };
    sock.on('connect', () => sock.write(s.connect));
    sock.on('error', fail);
    sock.on('close', () => (acked === s.count && connacked ? done() : fail(new Error(`connection closed (CONNACK ${connacked}, PUBACKs ${acked}/${s.count})`))));
    sock.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      // The broker only sends CONNACK and PUBACK here: 2-byte fixed headers with 2-byte bodies.
      while (buf.length >= 4) {
        const type = buf[0]! >> 4;
        if (buf[1] !== 2) return fail(new Error(`unexpected packet: type ${type}, remaining length ${buf[1]}`));
        if (type === 2) {
          if (buf[3] !== 0) return fail(new Error(`CONNACK refused the connection, return code ${buf[3]}`));
          connacked = true;
          sock.write(s.publishes);
        } else if (type === 4) {
          acked++;
          if (acked === s.count) {
            sock.end(DISCONNECT);
          }
        } else return fail(new Error(`unexpected packet type ${type}`));
        buf = buf.subarray(4);
      }
    });
  });
}
