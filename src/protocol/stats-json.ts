// The JSON that nsqd's /stats?format=json answers (nsqd 1.3's shape, plus `replication` on nodes
// that replicate): written once for the engine that builds it and the tools and tests that read it.

/** A replica link's state; `refused` in /stats: down, and the last dial was refused. */
export type LinkState = 'connecting' | 'catching_up' | 'in_sync' | 'down';

export interface LatencyResult {
  count: number;
  percentiles: { quantile: number; value: number }[] | null;
}

export interface ClientStats {
  client_id: string;
  hostname: string;
  version: string;
  remote_address: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
  connect_ts: number;
  sample_rate: number;
  deflate: boolean;
  snappy: boolean;
  user_agent: string;
  authed?: boolean;
  auth_identity?: string;
  auth_identity_url?: string;
  pub_counts?: { topic: string; count: number }[];
  tls?: boolean;
  tls_cipher_suite?: string;
  tls_version?: string;
  tls_negotiated_protocol?: string;
  tls_negotiated_protocol_is_mutual?: boolean;
}

export interface ChannelStats {
  channel_name: string;
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  /** not in nsqd, so absent from its answers (docs/dead-letters.md): the limit in force (0 = unlimited), where messages go past it, how many went */
  max_attempts?: number;
  dead_letter_topic?: string;
  dead_lettered_count?: number;
  /** not in nsqd (docs/ordered-channels.md): an ordered channel, and its head: the message the line waits on ('' and 0 when none) */
  ordered?: boolean;
  head_id?: string;
  head_age_ms?: number;
  head_attempts?: number;
  client_count: number;
  clients: ClientStats[] | null;
  paused: boolean;
  e2e_processing_latency: LatencyResult;
}

export interface TopicStats {
  topic_name: string;
  channels: ChannelStats[];
  depth: number;
  backend_depth: number;
  message_count: number;
  message_bytes: number;
  paused: boolean;
  e2e_processing_latency: LatencyResult;
  /**
   * not in nsqd: a durable topic's journal (docs/retention.md): the retention limits in force (ms,
   * bytes; 0 = none), the oldest record's publish time (epoch ms, 0 = the journal is empty) and the
   * journal's bytes, what a channel created with from=earliest starts from
   */
  retention_ms?: number;
  retention_size?: number;
  retained_from?: number;
  retained_bytes?: number;
  /** a durable topic on a node that replicates: its messages the counted replicas have not confirmed */
  replication?: { lag_messages: number };
}

export interface MemoryStats {
  heap_objects: number;
  heap_idle_bytes: number;
  heap_in_use_bytes: number;
  heap_released_bytes: number;
  gc_pause_usec_100: number;
  gc_pause_usec_99: number;
  gc_pause_usec_95: number;
  next_gc_bytes: number;
  gc_total_runs: number;
  /** not in nsqd: the process's resident set (nsq serve) */
  rss_bytes?: number;
}

export interface Stats {
  version: string;
  health: string;
  start_time: number;
  topics: TopicStats[] | null;
  memory?: MemoryStats;
  producers?: ClientStats[] | null;
  /** a node with replicas, or holding copies of others (not in nsqd) */
  replication?: ReplicationStats;
}

export interface ReplicationLinkStats {
  address: string;
  /** `refused`: down, and the last dial was refused (see `error`) */
  state: LinkState | 'refused';
  confirmed_seq: number;
  lag_bytes: number;
  /** messages committed here since the replica's last confirmation (a lower bound after a long outage) */
  lag_messages: number;
  last_contact_ms: number;
  error: string;
}

export interface ReplicationMirrorStats {
  origin: string;
  incarnation: string;
  bytes: number;
  /** the copy's bytes per topic (journal and ack segments) */
  topics: Record<string, number>;
  last_contact_ms: number;
  state: 'following' | 'taken_over';
}

export interface ReplicationStats {
  name: string;
  incarnation: string;
  factor: number;
  degraded_mode: 'refuse' | 'accept';
  in_sync: number;
  needed: number;
  healthy: boolean;
  links: ReplicationLinkStats[];
  mirrors: ReplicationMirrorStats[];
  taken_over_messages: number;
  /** messages this node took back from its replicas' copies when it started with an empty data path */
  restored_messages: number;
  /** a restore's progress, when this node started empty */
  restore?: string;
}
