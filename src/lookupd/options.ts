// nsqlookupd's options with their defaults (durations in milliseconds). Kept apart from the server
// so that `nsq --help` can show them without loading it.

import { hostname } from 'node:os';
import type { LogLevel } from '../util/log.js';

export interface LookupdOptions {
  logLevel: LogLevel;
  logPrefix: string;
  tcpAddress: string;
  httpAddress: string;
  /** what IDENTIFY answers as this node's address */
  broadcastAddress: string;
  /** ms without a PING after which a producer is left out of /lookup and /nodes */
  inactiveProducerTimeout: number;
  /** ms a tombstoned producer stays hidden from /lookup */
  tombstoneLifetime: number;
}

export function defaultLookupdOptions(): LookupdOptions {
  return {
    logLevel: 'info',
    logPrefix: '[nsqlookupd] ',
    tcpAddress: '127.0.0.1:4160',
    httpAddress: '127.0.0.1:4161',
    broadcastAddress: hostname(),
    inactiveProducerTimeout: 300_000,
    tombstoneLifetime: 45_000,
  };
}
