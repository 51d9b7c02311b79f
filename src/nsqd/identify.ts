// IDENTIFY: validates the client's JSON and applies the negotiated settings, with nsqd's ranges.

import type { Client } from './client.js';
import type { NsqdOptions } from './options.js';
import { E_BAD_BODY, E_IDENTIFY_FAILED } from '../protocol/errors.js';

export class IdentifyError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const bad = (msg: string): IdentifyError => new IdentifyError(E_BAD_BODY, `IDENTIFY ${msg}`);
const undecodable = (): IdentifyError => new IdentifyError(E_BAD_BODY, 'IDENTIFY failed to decode JSON body');

const STRING_FIELDS = ['client_id', 'hostname', 'user_agent'] as const;
const BOOL_FIELDS = ['feature_negotiation', 'tls_v1', 'deflate', 'snappy'] as const;
const INT_FIELDS = ['heartbeat_interval', 'output_buffer_size', 'output_buffer_timeout', 'deflate_level', 'sample_rate', 'msg_timeout'] as const;
const INT32_MAX = 2147483647;

/** Go's json.Unmarshal into nsqd's struct: wrong types fail the whole body. */
function field<T>(data: Record<string, unknown>, key: string, check: (v: unknown) => v is T): T | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw undecodable();
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Go matches JSON keys to struct fields case-insensitively; the first spelling found wins. */
function lowerKeys(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const lk = k.toLowerCase();
    if (!(lk in out)) out[lk] = v;
  }
  return out;
}

/**
 * Applies the IDENTIFY body to `client`. Returns whether the connection upgrades to TLS next
 * (the client asked with feature negotiation and the server has a certificate).
 */
export function applyIdentify(client: Client, raw: unknown, opts: NsqdOptions, tlsAvailable = false): boolean {
  if (raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw undecodable();
  const data = lowerKeys(raw as Record<string, unknown>);
  const str: Partial<Record<(typeof STRING_FIELDS)[number], string>> = {};
  for (const k of STRING_FIELDS) str[k] = field(data, k, isString);
  const bool: Partial<Record<(typeof BOOL_FIELDS)[number], boolean>> = {};
  for (const k of BOOL_FIELDS) bool[k] = field(data, k, isBool);
  const int: Partial<Record<(typeof INT_FIELDS)[number], number>> = {};
  for (const k of INT_FIELDS) int[k] = field(data, k, isInt);
  if (int.sample_rate !== undefined && Math.abs(int.sample_rate) > INT32_MAX) throw undecodable();

  // nsqd overwrites the identifiers first, with "" for absent keys
  // short_id/long_id: what clients older than nsqd 0.2.28 send instead (nsqd 1.3 ignores any
  // unknown key, so a non-string one is ignored here too)
  const legacy = (k: string): string | undefined => (typeof data[k] === 'string' ? (data[k] as string) : undefined);
  client.clientId = str.client_id ?? legacy('short_id') ?? '';
  client.hostname = str.hostname ?? legacy('long_id') ?? '';
  client.userAgent = str.user_agent ?? '';

  const hb = int.heartbeat_interval ?? 0;
  let heartbeat = client.heartbeatInterval;
  if (hb === -1) heartbeat = 0;
  else if (hb === 0) heartbeat = opts.clientTimeout / 2;
  else if (hb >= 1000 && hb <= opts.maxHeartbeatInterval) heartbeat = hb;
  else throw bad(`heartbeat interval (${hb}) is invalid`);

  const obt = int.output_buffer_timeout ?? 0;
  let outputBufferTimeout = client.outputBufferTimeout;
  if (obt === -1) outputBufferTimeout = 0;
  else if (obt === 0) outputBufferTimeout = opts.outputBufferTimeout;
  else if (obt >= opts.minOutputBufferTimeout && obt <= opts.maxOutputBufferTimeout) outputBufferTimeout = obt;
  else throw bad(`output buffer timeout (${obt}) is invalid`);

  const obs = int.output_buffer_size ?? 0;
  let outputBufferSize = client.outputBufferSize;
  if (obs === -1) {
    outputBufferSize = 1;
    outputBufferTimeout = 0;
  } else if (obs === 0) {
    outputBufferSize = DEFAULT_OUTPUT_BUFFER_SIZE;
  } else if (obs >= 64 && obs <= opts.maxOutputBufferSize) {
    outputBufferSize = obs;
  } else {
    throw bad(`output buffer size (${obs}) is invalid`);
  }

  const sampleRate = int.sample_rate ?? 0;
  if (sampleRate < 0 || sampleRate > 99) throw bad(`sample rate (${sampleRate}) is invalid`);

  const mt = int.msg_timeout ?? 0;
  let msgTimeout = opts.msgTimeout;
  if (mt !== 0) {
    if (mt >= 1000 && mt <= opts.maxMsgTimeout) msgTimeout = mt;
    else throw bad(`msg timeout (${mt}) is invalid`);
  }

  const featureNegotiation = bool.feature_negotiation === true;
  const deflate = featureNegotiation && opts.deflate && bool.deflate === true;
  let deflateLevel = 6;
  if (deflate && (int.deflate_level ?? 0) > 0) deflateLevel = int.deflate_level!;
  deflateLevel = Math.min(deflateLevel, opts.maxDeflateLevel);
  const snappy = featureNegotiation && opts.snappy && bool.snappy === true;

  client.heartbeatInterval = heartbeat;
  client.outputBufferSize = outputBufferSize;
  client.outputBufferTimeout = outputBufferTimeout;
  client.sampleRate = sampleRate;
  client.msgTimeout = msgTimeout;
  client.featureNegotiation = featureNegotiation;
  client.identified = true;
  if (deflate && snappy) throw new IdentifyError(E_IDENTIFY_FAILED, 'cannot enable both deflate and snappy compression');
  client.deflate = deflate;
  client.deflateLevel = deflateLevel;
  client.snappy = snappy;
  return featureNegotiation && tlsAvailable && bool.tls_v1 === true;
}

export const DEFAULT_OUTPUT_BUFFER_SIZE = 16 * 1024;
