// /metrics: the engine's figures in Prometheus' text format (beyond nsqd, which only pushes statsd).

import type { NSQD } from './nsqd.js';

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: [labels: string, value: number][];
}

const label = (k: string, v: string): string => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

export function prometheusText(nsqd: NSQD): string {
  const f = (name: string, help: string, type: Family['type']): Family => ({ name, help, type, samples: [] });
  const topicDepth = f('nsq_topic_depth', 'messages waiting in the topic itself (memory + disk)', 'gauge');
  const topicBackend = f('nsq_topic_backend_depth', 'messages of the topic on disk', 'gauge');
  const topicMessages = f('nsq_topic_messages_total', 'messages published to the topic', 'counter');
  const topicPaused = f('nsq_topic_paused', '1 while the topic is paused', 'gauge');
  const depth = f('nsq_channel_depth', 'messages waiting in the channel (memory + disk)', 'gauge');
  const backend = f('nsq_channel_backend_depth', 'messages of the channel on disk', 'gauge');
  const inFlight = f('nsq_channel_in_flight', 'messages delivered and not yet finished', 'gauge');
  const deferred = f('nsq_channel_deferred', 'messages deferred (REQ with a delay, DPUB)', 'gauge');
  const messages = f('nsq_channel_messages_total', 'messages put into the channel', 'counter');
  const requeued = f('nsq_channel_requeued_total', 'messages requeued', 'counter');
  const timedOut = f('nsq_channel_timed_out_total', 'messages that timed out in flight', 'counter');
  const deadLettered = f('nsq_channel_dead_lettered_total', 'messages moved to the dead-letter topic past max attempts', 'counter');
  const consumers = f('nsq_channel_consumers', 'consumers subscribed to the channel', 'gauge');
  const paused = f('nsq_channel_paused', '1 while the channel is paused', 'gauge');
  for (const t of nsqd.topics.values()) {
    const tl = label('topic', t.name);
    topicDepth.samples.push([tl, t.depth]);
    topicBackend.samples.push([tl, t.backendDepth]);
    topicMessages.samples.push([tl, t.messageCount]);
    topicPaused.samples.push([tl, t.paused ? 1 : 0]);
    for (const c of t.channels.values()) {
      const cl = `${tl},${label('channel', c.name)}`;
      depth.samples.push([cl, c.depth]);
      backend.samples.push([cl, c.backendDepth]);
      inFlight.samples.push([cl, c.inFlightCount]);
      deferred.samples.push([cl, c.deferredCount]);
      messages.samples.push([cl, c.messageCount]);
      requeued.samples.push([cl, c.requeueCount]);
      timedOut.samples.push([cl, c.timeoutCount]);
      deadLettered.samples.push([cl, c.deadLetteredCount]);
      consumers.samples.push([cl, c.clients.length]);
      paused.samples.push([cl, c.paused ? 1 : 0]);
    }
  }
  const mem = process.memoryUsage();
  const clients = f('nsq_clients', 'TCP connections', 'gauge');
  clients.samples.push(['', nsqd.clients.size]);
  const rss = f('process_resident_memory_bytes', 'resident memory', 'gauge');
  rss.samples.push(['', mem.rss]);
  const heap = f('nodejs_heap_used_bytes', 'JavaScript heap in use', 'gauge');
  heap.samples.push(['', mem.heapUsed]);
  const up = f('nsq_healthy', '1 while /ping answers OK', 'gauge');
  up.samples.push(['', nsqd.pingHealth === 'OK' ? 1 : 0]);
  const start = f('process_start_time_seconds', 'start time, seconds since the epoch', 'gauge');
  start.samples.push(['', nsqd.startTime]);
  // replication (docs/replication.md): only on a node that replicates or holds copies
  const replication: Family[] = [];
  const r = nsqd.replication?.statsIfActive();
  if (r !== undefined) {
    const inSync = f('nsq_replication_in_sync', 'replicas in sync with this node', 'gauge');
    inSync.samples.push(['', r.in_sync]);
    const needed = f('nsq_replication_needed', 'in-sync replicas a durable publish needs (replication factor - 1)', 'gauge');
    needed.samples.push(['', r.needed]);
    const lag = f('nsq_replication_lag_bytes', 'bytes of durable files not yet sent to the replica', 'gauge');
    const lagMsgs = f('nsq_replication_lag_messages', 'messages committed here since the replica last confirmed', 'gauge');
    const linkUp = f('nsq_replication_link_in_sync', '1 while the link to the replica is in sync', 'gauge');
    for (const l of r.links) {
      const ll = label('replica', l.address);
      lag.samples.push([ll, l.lag_bytes]);
      lagMsgs.samples.push([ll, l.lag_messages]);
      linkUp.samples.push([ll, l.state === 'in_sync' ? 1 : 0]);
    }
    const taken = f('nsq_replication_taken_over_total', 'messages this node took over from silent origins', 'counter');
    taken.samples.push(['', r.taken_over_messages]);
    replication.push(inSync, needed, lag, lagMsgs, linkUp, taken);
  }
  let out = '';
  for (const fam of [topicDepth, topicBackend, topicMessages, topicPaused, depth, backend, inFlight, deferred, messages, requeued, timedOut, deadLettered, consumers, paused, clients, up, rss, heap, start, ...replication]) {
    out += `# HELP ${fam.name} ${fam.help}\n# TYPE ${fam.name} ${fam.type}\n`;
    for (const [labels, value] of fam.samples) out += `${fam.name}${labels === '' ? '' : `{${labels}}`} ${value}\n`;
  }
  return out;
}
