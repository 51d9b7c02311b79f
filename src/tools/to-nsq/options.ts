// nsq to-nsq's options: what the command line is turned into, and the defaults of nsq_to_nsq 1.3.

import type { TransportOptions } from '../../client/connection.js';
import type { Mode } from '../relay/host-pool.js';
import type { ConsumerTuning, RelaySource } from '../relay/run.js';
import type { JsonFilterOptions } from './json-filter.js';

export interface ToNsqOptions extends RelaySource {
  topics: string[];
  destinations: string[];
  /** null: each message keeps its topic's name */
  destinationTopic: string | null;
  /** the destinations' TLS and compression, and their AUTH secret */
  destinationTransport: TransportOptions;
  destinationAuthSecret: string;
  /** the destinations' connection settings (--producer-opt) */
  producer: Pick<ConsumerTuning, 'heartbeatInterval' | 'connectTimeout' | 'outputBufferSize' | 'outputBufferTimeout' | 'clientId' | 'hostname' | 'msgTimeout'>;
  mode: Mode;
  json: JsonFilterOptions;
  /** publishes between status lines (0: none) */
  statusEvery: number;
}

export const TO_NSQ_DEFAULTS = {
  channel: 'nsq_to_nsq',
  mode: 'hostpool' as Mode,
  maxInFlight: 200,
  statusEvery: 250,
};
