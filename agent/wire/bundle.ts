// Bundle files carry an air-gapped device's outbox to the collector (docs/wire-format.md):
//
//   "EDGEWATCH-BUNDLE\n"      17 bytes of ASCII magic
//   header length             4 bytes, unsigned big-endian
//   header                    CBOR map {v, device, site, created_at, messages, from_seq, to_seq,
//                                       sha256, hmac}
//   content                   a CBOR sequence (RFC 8742): one byte string per message, each holding
//                             one envelope exactly as it would go over MQTT
//
// `sha256` is the SHA-256 of the content; `hmac`, when the agent has a key, HMAC-SHA256 of the
// content with it (null otherwise). The reader checks both before it hands out a single message, so
// a damaged or forged bundle yields nothing.

import crypto from 'node:crypto';
import { decodeCbor, encodeCbor } from './envelope.js';

export const BUNDLE_MAGIC = 'EDGEWATCH-BUNDLE\n';
export const BUNDLE_VERSION = 1;
const MAGIC = Buffer.from(BUNDLE_MAGIC, 'ascii');
/** A header is a few hundred bytes; more means a damaged length field. */
const MAX_HEADER_BYTES = 64 * 1024;

export interface BundleHeader {
  v: number;
  device: string;
  site: string;
  created_at: number;
  messages: number;
  from_seq: number | null;
  to_seq: number | null;
  sha256: Uint8Array;
  hmac: Uint8Array | null;
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

export interface BundleInput {
  device: string;
  site: string;
  createdAt: number;
  /** Envelopes in seq order, with their seqs. */
  messages: Array<{ seq: number; bytes: Uint8Array }>;
  hmacKey: string | null;
}

export function writeBundle(b: BundleInput): Buffer {
  const parts = b.messages.map((m) => encodeCbor(m.bytes));
  const content = Buffer.concat(parts);
  const header = encodeCbor({
    v: BUNDLE_VERSION,
    device: b.device,
    site: b.site,
    created_at: b.createdAt,
    messages: b.messages.length,
    from_seq: b.messages[0]?.seq ?? null,
    to_seq: b.messages.at(-1)?.seq ?? null,
    sha256: crypto.createHash('sha256').update(content).digest(),
    hmac: b.hmacKey === null ? null : hmac(b.hmacKey, content),
  });
  const len = Buffer.alloc(4);
  len.writeUInt32BE(header.length);
  return Buffer.concat([MAGIC, len, header, content]);
}

export interface ReadOptions {
  /** The key bundles are signed with; a signed bundle is refused without it. */
  hmacKey: string | null;
  /** Refuse bundles that carry no HMAC. */
  requireHmac: boolean;
}

/** Checks a bundle whole and returns its header and messages; throws BundleError saying what is wrong. */
export function readBundle(buf: Uint8Array, opts: ReadOptions): { header: BundleHeader; messages: Uint8Array[] } {
  const data = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (data.length < MAGIC.length + 4 || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new BundleError('not an edgewatch bundle (the file does not start with EDGEWATCH-BUNDLE)');
  }
  const headerLen = data.readUInt32BE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  if (headerLen === 0 || headerLen > MAX_HEADER_BYTES || headerStart + headerLen > data.length) {
    throw new BundleError(`damaged bundle: header length ${headerLen} does not fit the file of ${data.length} bytes`);
  }
  let header: unknown;
  try {
    header = decodeCbor(data.subarray(headerStart, headerStart + headerLen));
  } catch (err) {
    throw new BundleError(`damaged bundle: header is not CBOR (${(err as Error).message})`);
  }
  const h = checkHeader(header);
  const content = data.subarray(headerStart + headerLen);
  const sha = crypto.createHash('sha256').update(content).digest();
  if (!crypto.timingSafeEqual(sha, Buffer.from(h.sha256))) {
    throw new BundleError('damaged bundle: the SHA-256 of its content does not match its header; nothing was imported');
  }
  if (h.hmac !== null) {
    if (opts.hmacKey === null) throw new BundleError('bundle is signed (HMAC-SHA256) but no key is configured (bundles.hmac_key)');
    if (!crypto.timingSafeEqual(hmac(opts.hmacKey, content), Buffer.from(h.hmac))) {
      throw new BundleError('bundle signature (HMAC-SHA256) does not match the configured key: wrong key, or the bundle was altered');
    }
  } else if (opts.requireHmac) {
    throw new BundleError('bundle is not signed and bundles.require_hmac is set');
  }
  const messages = splitSequence(content);
  if (messages.length !== h.messages) {
    throw new BundleError(`damaged bundle: header says ${h.messages} messages, content holds ${messages.length}`);
  }
  return { header: h, messages };
}

function hmac(key: string, content: Uint8Array): Buffer {
  return crypto.createHmac('sha256', key).update(content).digest();
}

function checkHeader(v: unknown): BundleHeader {
  if (v === null || typeof v !== 'object') throw new BundleError('damaged bundle: header is not a map');
  const h = v as Record<string, unknown>;
  if (h.v !== BUNDLE_VERSION) {
    throw new BundleError(`bundle format version ${String(h.v)}; this build reads version ${BUNDLE_VERSION}`);
  }
  const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  const ok =
    typeof h.device === 'string' &&
    typeof h.site === 'string' &&
    isCount(h.created_at) &&
    isCount(h.messages) &&
    (h.from_seq === null || isCount(h.from_seq)) &&
    (h.to_seq === null || isCount(h.to_seq)) &&
    h.sha256 instanceof Uint8Array &&
    h.sha256.length === 32 &&
    (h.hmac === null || (h.hmac instanceof Uint8Array && h.hmac.length === 32));
  if (!ok) throw new BundleError('damaged bundle: header fields missing or of the wrong type');
  return h as unknown as BundleHeader;
}

/** The byte strings of a CBOR sequence of byte strings (definite lengths, as writeBundle makes them). */
function splitSequence(content: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < content.length) {
    const initial = content[at]!;
    if (initial >> 5 !== 2) throw new BundleError(`damaged bundle: item at byte ${at} of the content is not a byte string`);
    const info = initial & 0x1f;
    const head = info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : info === 26 ? 5 : 0;
    if (head === 0) throw new BundleError(`damaged bundle: item at byte ${at} has an unsupported length encoding`);
    if (at + head > content.length) throw new BundleError(`damaged bundle: item at byte ${at} runs past the end`);
    const len =
      head === 1 ? info : head === 2 ? content[at + 1]! : head === 3 ? content.readUInt16BE(at + 1) : content.readUInt32BE(at + 1);
    if (at + head + len > content.length) throw new BundleError(`damaged bundle: item at byte ${at} runs past the end`);
    out.push(content.subarray(at + head, at + head + len));
    at += head + len;
  }
  return out;
}
