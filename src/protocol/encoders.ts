// Encoders for both directions of protocol V2. The server's hot path (message frames)
// writes straight into a client's output buffer (see nsqd/client.ts); these serve everything else.

import { FRAME_TYPE_ERROR, FRAME_TYPE_RESPONSE, MESSAGE_HEADER_LENGTH } from './constants.js';
import { encodeMpubBody } from './mpub.js';

/** A complete frame of the given type with `data` as its payload. */
export function encodeFrame(frameType: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const out = Buffer.allocUnsafe(8 + payload.length);
  out.writeUInt32BE(4 + payload.length, 0);
  out.writeUInt32BE(frameType, 4);
  payload.copy(out, 8);
  return out;
}

export const encodeResponse = (data: Buffer | string): Buffer => encodeFrame(FRAME_TYPE_RESPONSE, data);
export const encodeError = (text: string): Buffer => encodeFrame(FRAME_TYPE_ERROR, text);

/** A command line without a body: `VERB arg arg\n`. */
export function encodeCommand(verb: string, ...params: (string | number)[]): Buffer {
  const line = params.length > 0 ? `${verb} ${params.join(' ')}\n` : `${verb}\n`;
  return Buffer.from(line);
}

/** A command line followed by a size-prefixed body: IDENTIFY, AUTH, PUB, DPUB. */
export function encodeCommandWithBody(line: string, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const head = Buffer.from(line + '\n');
  const out = Buffer.allocUnsafe(head.length + 4 + b.length);
  head.copy(out, 0);
  out.writeUInt32BE(b.length, head.length);
  b.copy(out, head.length + 4);
  return out;
}

export function encodePub(topic: string, body: Buffer | string): Buffer {
  return encodeCommandWithBody(`PUB ${topic}`, body);
}

export function encodeDpub(topic: string, deferMs: number, body: Buffer | string): Buffer {
  return encodeCommandWithBody(`DPUB ${topic} ${deferMs}`, body);
}

/** MPUB body: [4-byte count] then each message as [4-byte size][bytes]. */
export function encodeMpub(topic: string, bodies: readonly (Buffer | string)[]): Buffer {
  return encodeCommandWithBody(`MPUB ${topic}`, encodeMpubBody(bodies.map((b) => (typeof b === 'string' ? Buffer.from(b) : b))));
}

export function encodeIdentify(data: Record<string, unknown>): Buffer {
  return encodeCommandWithBody('IDENTIFY', JSON.stringify(data));
}

/** A decoded message frame, as clients see it. IDs stay strings: any nsqd's IDs work. */
export interface DecodedMessage {
  /** nanoseconds since the epoch */
  timestamp: bigint;
  attempts: number;
  id: string;
  body: Buffer;
}

/** Decodes a message frame's data; the body is copied so it outlives the receive buffer. */
export function decodeMessage(buf: Buffer, start: number, end: number): DecodedMessage {
  if (end - start < MESSAGE_HEADER_LENGTH) throw new RangeError(`message frame too short (${end - start} bytes)`);
  return {
    timestamp: buf.readBigInt64BE(start),
    attempts: buf.readUInt16BE(start + 8),
    id: buf.toString('latin1', start + 10, start + 26),
    body: Buffer.from(buf.subarray(start + 26, end)),
  };
}
