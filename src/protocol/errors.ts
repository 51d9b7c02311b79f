// Client-facing protocol errors: nsqd's E_* codes, each knowing whether it closes the connection.

export class ProtocolError extends Error {
  readonly code: string;
  readonly desc: string;
  readonly fatal: boolean;

  constructor(code: string, desc: string, fatal = true) {
    super(desc ? `${code} ${desc}` : code);
    this.name = 'ProtocolError';
    this.code = code;
    this.desc = desc;
    this.fatal = fatal;
  }

  /** The text carried by the error frame. */
  frameText(): string {
    return this.message;
  }
}

export const E_INVALID = 'E_INVALID';
export const E_BAD_BODY = 'E_BAD_BODY';
export const E_BAD_TOPIC = 'E_BAD_TOPIC';
export const E_BAD_CHANNEL = 'E_BAD_CHANNEL';
export const E_BAD_MESSAGE = 'E_BAD_MESSAGE';
export const E_PUB_FAILED = 'E_PUB_FAILED';
export const E_MPUB_FAILED = 'E_MPUB_FAILED';
export const E_DPUB_FAILED = 'E_DPUB_FAILED';
export const E_FIN_FAILED = 'E_FIN_FAILED';
export const E_REQ_FAILED = 'E_REQ_FAILED';
export const E_TOUCH_FAILED = 'E_TOUCH_FAILED';
export const E_AUTH_DISABLED = 'E_AUTH_DISABLED';
export const E_AUTH_FAILED = 'E_AUTH_FAILED';
export const E_AUTH_FIRST = 'E_AUTH_FIRST';
export const E_UNAUTHORIZED = 'E_UNAUTHORIZED';
export const E_BAD_PROTOCOL = 'E_BAD_PROTOCOL';

export function fatal(code: string, desc: string): ProtocolError {
  return new ProtocolError(code, desc, true);
}

/** Only FIN, REQ and TOUCH failures leave the connection open. */
export function nonFatal(code: string, desc: string): ProtocolError {
  return new ProtocolError(code, desc, false);
}
