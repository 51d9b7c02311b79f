// Wire constants of NSQ's TCP protocol V2, shared by the server and the clients.

export const MAGIC_V2 = Buffer.from('  V2', 'latin1');

export const FRAME_TYPE_RESPONSE = 0;
export const FRAME_TYPE_ERROR = 1;
export const FRAME_TYPE_MESSAGE = 2;

export const RESPONSE_OK = 'OK';
export const RESPONSE_HEARTBEAT = '_heartbeat_';
export const RESPONSE_CLOSE_WAIT = 'CLOSE_WAIT';

/** Bytes of a message ID on the wire (16 hex characters). */
export const MSG_ID_LENGTH = 16;
/** timestamp (8) + attempts (2) + id (16) */
export const MESSAGE_HEADER_LENGTH = 26;
/** size (4) + frame type (4) */
export const FRAME_HEADER_LENGTH = 8;

/** nsqd reads commands through a 16 KiB buffer; a longer line cannot be a command. */
export const MAX_LINE_LENGTH = 16 * 1024;

export const NSQ_VERSION = '1.3.0';
