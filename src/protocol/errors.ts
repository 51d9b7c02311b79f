// Every error code in one table, for the server (which builds E_* frames) and the clients (which
// read them): nsqd's wire codes, each knowing whether it closes the connection, and the codes the
// client library gives its own failures. Nobody matches error text outside this file.

/**
 * nsqd's client-facing codes (nsqd/protocol_v2.go) → whether the server closes the connection
 * after sending it. Only failures to FIN, REQ or TOUCH a message leave it open.
 */
export const PROTOCOL_CODES = {
  E_INVALID: true,
  E_BAD_PROTOCOL: true,
  E_BAD_BODY: true,
  E_BAD_TOPIC: true,
  E_BAD_CHANNEL: true,
  E_BAD_MESSAGE: true,
  E_PUB_FAILED: true,
  E_MPUB_FAILED: true,
  E_DPUB_FAILED: true,
  E_SUB_FAILED: true,
  E_IDENTIFY_FAILED: true,
  E_FIN_FAILED: false,
  E_REQ_FAILED: false,
  E_TOUCH_FAILED: false,
  E_AUTH_DISABLED: true,
  E_AUTH_FAILED: true,
  E_AUTH_FIRST: true,
  E_UNAUTHORIZED: true,
} as const satisfies Record<string, boolean>;

export type ProtocolCode = keyof typeof PROTOCOL_CODES;

export const E_INVALID = 'E_INVALID';
export const E_BAD_PROTOCOL = 'E_BAD_PROTOCOL';
export const E_BAD_BODY = 'E_BAD_BODY';
export const E_BAD_TOPIC = 'E_BAD_TOPIC';
export const E_BAD_CHANNEL = 'E_BAD_CHANNEL';
export const E_BAD_MESSAGE = 'E_BAD_MESSAGE';
export const E_PUB_FAILED = 'E_PUB_FAILED';
export const E_MPUB_FAILED = 'E_MPUB_FAILED';
export const E_DPUB_FAILED = 'E_DPUB_FAILED';
export const E_SUB_FAILED = 'E_SUB_FAILED';
export const E_IDENTIFY_FAILED = 'E_IDENTIFY_FAILED';
export const E_FIN_FAILED = 'E_FIN_FAILED';
export const E_REQ_FAILED = 'E_REQ_FAILED';
export const E_TOUCH_FAILED = 'E_TOUCH_FAILED';
export const E_AUTH_DISABLED = 'E_AUTH_DISABLED';
export const E_AUTH_FAILED = 'E_AUTH_FAILED';
export const E_AUTH_FIRST = 'E_AUTH_FIRST';
export const E_UNAUTHORIZED = 'E_UNAUTHORIZED';

/** The client library's own failures (never on the wire). */
export const E_CONNECT = 'E_CONNECT';
/** the connection closed before the command was answered: it was not executed, a retry is safe */
export const E_CLOSED = 'E_CLOSED';
export const E_TLS = 'E_TLS';
export const E_DEFLATE = 'E_DEFLATE';
/** the server answered something the protocol does not allow there */
export const E_UNEXPECTED = 'E_UNEXPECTED';
/** the address is some other protocol's port (an HTTP port given as a TCP address, ...) */
export const E_WRONG_PORT = 'E_WRONG_PORT';
export const E_AUTH_REQUIRED = 'E_AUTH_REQUIRED';
export const E_HTTP = 'E_HTTP';
export const E_NO_NODES = 'E_NO_NODES';
export const E_BAD_ADDRESS = 'E_BAD_ADDRESS';

/**
 * Whether a code closes the connection. A code this table does not know (a newer or other server)
 * is fatal, as nsqd closes the connection after every error but the three.
 */
export function isFatalCode(code: string): boolean {
  return (PROTOCOL_CODES as Record<string, boolean>)[code] ?? true;
}

/** An error with a stable `code`: from the server's error frame, or the client's own. */
export class NsqError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'NsqError';
    this.code = code;
  }
}

/** An E_* error frame: built by the server, or parsed from the frame by a client. */
export class ProtocolError extends NsqError {
  /** the text after the code */
  readonly desc: string;
  /** the server closes the connection after sending it */
  readonly fatal: boolean;

  constructor(code: string, desc: string, fatal = isFatalCode(code)) {
    super(code, desc ? `${code} ${desc}` : code);
    this.name = 'ProtocolError';
    this.desc = desc;
    this.fatal = fatal;
  }

  /** The text carried by the error frame. */
  frameText(): string {
    return this.message;
  }

  /** Reads an error frame's text, `E_CODE description`: the code is the first word, kept as sent. */
  static fromFrame(text: string): ProtocolError {
    const space = text.indexOf(' ');
    return space === -1 ? new ProtocolError(text, '') : new ProtocolError(text.slice(0, space), text.slice(space + 1));
  }
}

/** A non-fatal protocol error (a FIN, REQ or TOUCH for a message no longer in flight here). */
export function isNonFatal(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError && !err.fatal;
}

export function fatal(code: string, desc: string): ProtocolError {
  return new ProtocolError(code, desc, true);
}

/** Only FIN, REQ and TOUCH failures leave the connection open. */
export function nonFatal(code: string, desc: string): ProtocolError {
  return new ProtocolError(code, desc, false);
}

// ---- E_BAD_MESSAGE: the wording is the only place nsqd says which limit a message broke --------

/** A message body over --max-msg-size (`verb`: PUB, MPUB, DPUB), worded as nsqd does. */
export function messageTooBig(verb: string, size: number, maxMsgSize: number): ProtocolError {
  return fatal(E_BAD_MESSAGE, `${verb} message too big ${size} > ${maxMsgSize}`);
}

/** A message body of `size` ≤ 0 bytes; `index`: its place in an MPUB. */
export function badMessageSize(verb: string, size: number, index?: number): ProtocolError {
  return fatal(E_BAD_MESSAGE, `${verb} invalid message${index === undefined ? '' : `(${index})`} body size ${size}`);
}

export type BadMessage = { kind: 'too-big'; size: number; limit: number } | { kind: 'empty' };

const TOO_BIG = /^[A-Z]+ message too big (\d+) > (\d+)$/;
const EMPTY = /^[A-Z]+ invalid message(?:\(\d+\))? body size 0$/;

/**
 * What an E_BAD_MESSAGE says about the refused message: too big for the server's limit (which
 * nsqd tells nowhere else), or empty. Reads the wording above, which Go nsqd shares; null for any
 * other error.
 */
export function badMessage(err: unknown): BadMessage | null {
  if (!(err instanceof ProtocolError) || err.code !== E_BAD_MESSAGE) return null;
  const big = TOO_BIG.exec(err.desc);
  if (big !== null) return { kind: 'too-big', size: Number(big[1]), limit: Number(big[2]) };
  return EMPTY.test(err.desc) ? { kind: 'empty' } : null;
}

// ---- E_INVALID of DPUB: the wording is the only place nsqd gives its --max-req-timeout ---------

/** A DPUB defer (ms) outside 0..max (--max-req-timeout), worded as nsqd does. */
export function deferOutOfRange(timeout: number, max: number): ProtocolError {
  return fatal(E_INVALID, `DPUB timeout ${timeout} out of range 0-${max}`);
}

const DEFER_RANGE = /^DPUB timeout -?\d+ out of range 0-(\d+)$/;

/** The server's longest defer (ms) when `err` is its refusal of a DPUB's defer; null otherwise. */
export function deferLimit(err: unknown): number | null {
  if (!(err instanceof ProtocolError) || err.code !== E_INVALID) return null;
  const m = DEFER_RANGE.exec(err.desc);
  return m === null ? null : Number(m[1]);
}
