// nsq_to_file's options: defaults in one object, the typed options (read from the command line by
// commands/to-file.ts), and the per-topic filename template (<TOPIC>, <HOST>, <PID> filled in;
// <DATETIME>, <REV> left).

import { hostname } from 'node:os';
import type { TransportOptions } from '../../client/connection.js';
import type { ClientOptions } from '../../client/options.js';
import type { LogLevel } from '../../util/log.js';

export const TO_FILE_DEFAULTS = {
  channel: 'nsq_to_file',
  maxInFlight: 200,
  outputDir: '/tmp',
  datetimeFormat: '%Y-%m-%d_%H',
  filenameFormat: '<TOPIC>.<HOST><REV>.<DATETIME>.log',
  hostIdentifier: '',
  gzip: false,
  gzipLevel: 6,
  skipEmptyFiles: false,
  rotateSize: 0,
  rotateInterval: 0,
  syncInterval: 30_000,
  logLevel: 'info' as LogLevel,
  logPrefix: '[nsq_to_file] ',
  httpClientConnectTimeout: 2_000,
  httpClientRequestTimeout: 5_000,
};

export interface ToFileOptions {
  topics: string[];
  /** --topic-pattern: also every topic lookupd knows whose name matches */
  topicPattern: RegExp | null;
  /** how often lookupd's topics are read again for --topic-pattern (ms) */
  topicRefresh: number;
  channel: string;
  /** --from: the channel is created at this point of the retained journal first (/channel/create?from=) */
  from: string | null;
  maxInFlight: number;
  outputDir: string;
  /** where files are written while open; the output dir unless --work-dir is given */
  workDir: string;
  datetimeFormat: string;
  filenameFormat: string;
  hostIdentifier: string;
  gzip: boolean;
  gzipLevel: number;
  skipEmptyFiles: boolean;
  /** bytes; 0: never rotate on size */
  rotateSize: number;
  /** ms; 0: never rotate on time */
  rotateInterval: number;
  /** ms between syncs (and rotation checks) */
  syncInterval: number;
  logLevel: LogLevel;
  logPrefix: string;
  /** bounds each lookupd query for --topic-pattern (ms; nsq_to_file's connect + request timeouts) */
  lookupdTimeout: number;
  client: ClientOptions;
  transport: TransportOptions;
}

/** A revision in the name is what keeps a new file from clobbering or appending to a finished one. */
export function needsRevision(o: Pick<ToFileOptions, 'gzip' | 'rotateSize' | 'rotateInterval' | 'workDir' | 'outputDir'>): boolean {
  return o.gzip || o.rotateSize > 0 || o.rotateInterval > 0 || o.workDir !== o.outputDir;
}

/** The filename template for one topic: <TOPIC>, <HOST>, <PID> replaced; <DATETIME> and <REV> kept. */
export function filenameTemplate(o: ToFileOptions, topic: string, host = hostname(), pid = process.pid): string {
  const shortHost = host.split('.')[0] ?? host;
  const identifier = o.hostIdentifier === '' ? shortHost : o.hostIdentifier.replaceAll('<SHORT_HOST>', shortHost).replaceAll('<HOSTNAME>', host);
  let f = o.filenameFormat;
  if (!needsRevision(o)) f = f.replaceAll('<REV>', '');
  f = f.replaceAll('<TOPIC>', topic).replaceAll('<HOST>', identifier).replaceAll('<PID>', String(pid));
  if (o.gzip && !f.endsWith('.gz')) f += '.gz';
  return f;
}
