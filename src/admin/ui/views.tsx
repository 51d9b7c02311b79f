// The page's views. Live figures (depths, rates, backlog warnings, node state) come from the
// dashboard's model (/api/model); per-node breakdowns and clients from nsqadmin's API routes.

import type React from 'react';
import { useState } from 'react';
import type { AdminChannel, AdminTopic } from '../shapes.js';
import type { AdminProducer } from '../cluster.js';
import type { ChannelRow, TopicRow } from '../../top/model.js';
import { count, enc, rate, usePoll } from './data.js';
import { Link, type Nav } from './nav.js';

function Actions({ nav, what, base, paused, afterDelete }: { nav: Nav; what: string; base: string; paused: boolean; afterDelete: string }): React.JSX.Element {
  const can = nav.model?.can_act !== false;
  const title = can ? undefined : 'you are not an admin user';
  return (
    <div className="actions">
      <button type="button" disabled={!can} title={title} onClick={() => nav.confirmAct(`${paused ? 'Unpause' : 'Pause'} ${what}?`, 'POST', base, { action: paused ? 'unpause' : 'pause' })}>
        {paused ? 'Unpause' : 'Pause'}
      </button>
      <button type="button" disabled={!can} title={title} className="danger" onClick={() => nav.confirmAct(`Empty ${what}? Its queued messages are lost.`, 'POST', base, { action: 'empty' })}>
        Empty
      </button>
      <button type="button" disabled={!can} title={title} className="danger" onClick={() => nav.confirmAct(`Delete ${what}? Its messages are lost.`, 'DELETE', base, undefined, afterDelete)}>
        Delete
      </button>
    </div>
  );
}

/** Where a page sits: links up the way, then its own name. */
function Crumbs({ nav, path, here }: { nav: Nav; path: [string, string][]; here: string }): React.JSX.Element {
  return (
    <p className="crumbs">
      {path.map(([to, label]) => (
        <span key={to}>
          <Link to={to} nav={nav}>
            {label}
          </Link>{' '}
          /{' '}
        </span>
      ))}
      {here}
    </p>
  );
}

function Warning({ text }: { text: string | undefined | null }): React.JSX.Element | null {
  return text ? <div className="banner warn">{text}</div> : null;
}

function CreateForm({ nav, topic }: { nav: Nav; topic?: string }): React.JSX.Element {
  const [t, setT] = useState('');
  const [c, setC] = useState('');
  const can = nav.model?.can_act !== false;
  return (
    <form
      className="create"
      onSubmit={(e) => {
        e.preventDefault();
        const name = topic ?? t.trim();
        if (name === '') return;
        const channel = c.trim();
        nav.confirmAct(channel === '' ? `Create topic ${name}?` : `Create channel ${name}/${channel}?`, 'POST', '/api/topics', channel === '' ? { topic: name } : { topic: name, channel });
      }}
    >
      {topic === undefined && <input aria-label="topic name" placeholder="topic" value={t} onChange={(e) => setT(e.target.value)} />}
      <input aria-label="channel name" placeholder={topic === undefined ? 'channel (optional)' : 'channel'} value={c} onChange={(e) => setC(e.target.value)} />
      <button type="submit" disabled={!can}>
        Create
      </button>
    </form>
  );
}

function Paused({ on }: { on: boolean }): React.JSX.Element | null {
  return on ? <span className="tag paused">paused</span> : null;
}

function Stalled({ on }: { on: boolean }): React.JSX.Element | null {
  return on ? (
    <span className="tag stalled" title="the backlog grew since the last poll and nobody consumes">
      growing
    </span>
  ) : null;
}

function DeadGrowing({ on }: { on: boolean }): React.JSX.Element | null {
  return on ? (
    <span className="tag dead" title="a dead-letter topic that received messages since the last poll">
      dead+
    </span>
  ) : null;
}

export function StreamsPage({ nav }: { nav: Nav }): React.JSX.Element {
  const m = nav.model;
  if (m === null) return <p>Loading…</p>;
  const answered = m.nodes.some((n) => n.up);
  return (
    <section>
      <h1>Streams</h1>
      <p className="summary">
        {m.totals.nodesUp} node{m.totals.nodesUp === 1 ? '' : 's'} up{m.totals.nodesDown > 0 ? `, ${m.totals.nodesDown} down` : ''} · {count(m.totals.topics)} topics · depth {count(m.totals.depth)} ·{' '}
        <span className="rate">{rate(m.totals.inRate)}</span> msg/s in
      </p>
      {m.topics.length === 0 ? (
        <p>{answered ? 'No topics yet.' : 'No node answered.'}</p>
      ) : (
        <table className="topics">
          <thead>
            <tr>
              <th>Topic</th>
              <th className="n">Depth</th>
              <th className="n">In flight</th>
              <th className="n">Messages</th>
              <th className="n">msg/s</th>
              <th className="n">Channels</th>
              <th className="n">Nodes</th>
            </tr>
          </thead>
          <tbody>
            {m.topics.map((t) => (
              <tr key={t.name} data-topic={t.name}>
                <td>
                  <Link to={`/topics/${enc(t.name)}`} nav={nav}>
                    {t.name}
                  </Link>{' '}
                  <Paused on={t.paused} />
                  <Stalled on={t.stalled || t.channels.some((c) => c.stalled)} />
                  <DeadGrowing on={t.deadGrowing} />
                </td>
                <td className="n">{count(t.depth + t.channels.reduce((s, c) => s + c.depth, 0))}</td>
                <td className="n">{count(t.channels.reduce((s, c) => s + c.inFlight, 0))}</td>
                <td className="n">{count(t.messageCount)}</td>
                <td className="n">{rate(t.inRate)}</td>
                <td className="n">{t.channels.length}</td>
                <td className="n">{t.nodes.length}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Create</h2>
      <CreateForm nav={nav} />
    </section>
  );
}

function ChannelTable({ nav, topic, row }: { nav: Nav; topic: string; row: TopicRow | undefined }): React.JSX.Element {
  const channels: ChannelRow[] = row?.channels ?? [];
  if (channels.length === 0) return <p>No channels: the topic keeps its messages until one is created.</p>;
  return (
    <table className="channels">
      <thead>
        <tr>
          <th>Channel</th>
          <th className="n">Depth</th>
          <th className="n">In flight</th>
          <th className="n">Deferred</th>
          <th className="n">Requeued</th>
          <th className="n">Timed out</th>
          <th className="n" title="moved to the dead-letter topic after too many attempts">Dead</th>
          <th className="n">Messages</th>
          <th className="n">out msg/s</th>
          <th className="n">Consumers</th>
        </tr>
      </thead>
      <tbody>
        {channels.map((c) => (
          <tr key={c.name} data-channel={c.name}>
            <td>
              <Link to={`/topics/${enc(topic)}/${enc(c.name)}`} nav={nav}>
                {c.name}
              </Link>{' '}
              <Paused on={c.paused} />
              <Stalled on={c.stalled} />
            </td>
            <td className="n">{count(c.depth)}</td>
            <td className="n">{count(c.inFlight)}</td>
            <td className="n">{count(c.deferred)}</td>
            <td className="n">{count(c.requeueCount)}</td>
            <td className="n">{count(c.timeoutCount)}</td>
            <td className="n">{count(c.deadLettered)}</td>
            <td className="n">{count(c.messageCount)}</td>
            <td className="n">{rate(c.outRate)}</td>
            <td className="n">{c.consumers}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TopicPage({ nav, topic }: { nav: Nav; topic: string }): React.JSX.Element {
  const { data, error } = usePoll<AdminTopic & { message: string }>(`/api/topics/${enc(topic)}`, nav.version);
  const row = nav.model?.topics.find((t) => t.name === topic);
  return (
    <section>
      <Crumbs nav={nav} path={[['/', 'Streams']]} here={topic} />
      <h1>
        Topic {topic} <Paused on={row?.paused ?? data?.paused ?? false} />
      </h1>
      <Actions nav={nav} what={`topic ${topic}`} base={`/api/topics/${enc(topic)}`} paused={row?.paused ?? data?.paused ?? false} afterDelete="/" />
      {error !== null && <div className="banner error">{error}</div>}
      <Warning text={data?.message} />
      {row !== undefined && (
        <p className="summary">
          depth {count(row.depth)} · messages {count(row.messageCount)} · <span className="rate">{rate(row.inRate)}</span> msg/s in
        </p>
      )}
      <h2>Channels</h2>
      <ChannelTable nav={nav} topic={topic} row={row} />
      <CreateForm nav={nav} topic={topic} />
      <h2>On each node</h2>
      {data === null ? (
        <p>Loading…</p>
      ) : (
        <table className="nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th className="n">Depth</th>
              <th className="n">Memory</th>
              <th className="n">Disk</th>
              <th className="n">Messages</th>
              <th className="n">Channels</th>
            </tr>
          </thead>
          <tbody>
            {data.nodes.map((n) => (
              <tr key={n.node}>
                <td>
                  <Link to={`/nodes/${enc(n.node)}`} nav={nav}>
                    {n.hostname} ({n.node})
                  </Link>{' '}
                  <Paused on={n.paused} />
                </td>
                <td className="n">{count(n.depth)}</td>
                <td className="n">{count(n.memory_depth)}</td>
                <td className="n">{count(n.backend_depth)}</td>
                <td className="n">{count(n.message_count)}</td>
                <td className="n">{n.channels.length}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ChannelPage({ nav, topic, channel }: { nav: Nav; topic: string; channel: string }): React.JSX.Element {
  const { data, error } = usePoll<AdminChannel & { message: string }>(`/api/topics/${enc(topic)}/${enc(channel)}`, nav.version);
  const row = nav.model?.topics.find((t) => t.name === topic)?.channels.find((c) => c.name === channel);
  const paused = row?.paused ?? data?.paused ?? false;
  return (
    <section>
      <Crumbs nav={nav} path={[['/', 'Streams'], [`/topics/${enc(topic)}`, topic]]} here={channel} />
      <h1>
        Channel {topic}/{channel} <Paused on={paused} />
      </h1>
      <Actions nav={nav} what={`channel ${topic}/${channel}`} base={`/api/topics/${enc(topic)}/${enc(channel)}`} paused={paused} afterDelete={`/topics/${enc(topic)}`} />
      {error !== null && <div className="banner error">{error}</div>}
      <Warning text={data?.message} />
      {row !== undefined && (
        <p className="summary">
          depth {count(row.depth)} · in flight {count(row.inFlight)} · deferred {count(row.deferred)} · requeued {count(row.requeueCount)} · timed out {count(row.timeoutCount)} · dead-lettered {count(row.deadLettered)} ·{' '}
          <span className="rate">{rate(row.outRate)}</span> msg/s out <Stalled on={row.stalled} />
        </p>
      )}
      <h2>Clients</h2>
      {data === null ? (
        <p>Loading…</p>
      ) : data.clients.length === 0 ? (
        <p>No consumer is connected.</p>
      ) : (
        <table className="clients">
          <thead>
            <tr>
              <th>Client</th>
              <th>Node</th>
              <th>User agent</th>
              <th className="n">Ready</th>
              <th className="n">In flight</th>
              <th className="n">Finished</th>
              <th className="n">Requeued</th>
              <th>Connected</th>
            </tr>
          </thead>
          <tbody>
            {data.clients.map((c) => (
              <tr key={`${c.node}|${c.remote_address}`}>
                <td>
                  {c.hostname} ({c.remote_address})
                </td>
                <td>{c.node}</td>
                <td>{c.user_agent}</td>
                <td className="n">{c.ready_count}</td>
                <td className="n">{c.in_flight_count}</td>
                <td className="n">{count(c.finish_count)}</td>
                <td className="n">{count(c.requeue_count)}</td>
                <td>{Math.round(c.connected / 1e9)} s</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function NodesPage({ nav }: { nav: Nav }): React.JSX.Element {
  const { data, error } = usePoll<{ nodes: AdminProducer[]; message: string }>('/api/nodes', nav.version);
  const state = new Map((nav.model?.nodes ?? []).map((n) => [n.address, n]));
  return (
    <section>
      <h1>Nodes</h1>
      {error !== null && <div className="banner error">{error}</div>}
      <Warning text={data?.message} />
      {data === null ? (
        <p>Loading…</p>
      ) : (
        <table className="nodes">
          <thead>
            <tr>
              <th>Hostname</th>
              <th>Broadcast address</th>
              <th className="n">TCP</th>
              <th className="n">HTTP</th>
              <th>Version</th>
              <th className="n">Topics</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {data.nodes.map((p) => {
              const address = `${p.broadcast_address}:${p.http_port}`;
              const s = state.get(address);
              return (
                <tr key={address}>
                  <td>
                    <Link to={`/nodes/${enc(address)}`} nav={nav}>
                      {p.hostname}
                    </Link>
                  </td>
                  <td>{p.broadcast_address}</td>
                  <td className="n">{p.tcp_port}</td>
                  <td className="n">{p.http_port}</td>
                  <td>
                    {p.version} {p.out_of_date && <span className="tag stalled">out of date</span>}
                  </td>
                  <td className="n">{p.topics.length}</td>
                  <td>{s === undefined ? '' : s.up ? (s.replication !== undefined ? `up · replicates as ${s.replication.name}` : 'up') : <span className="tag stalled">down</span>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function NodePage({ nav, node }: { nav: Nav; node: string }): React.JSX.Element {
  const { data, error } = usePoll<{ node: string; topics: AdminTopic[]; total_messages: number; total_clients: number; message: string }>(`/api/nodes/${enc(node)}`, nav.version);
  const lookupd = (nav.model?.lookupds.length ?? 0) > 0;
  const can = nav.model?.can_act !== false;
  return (
    <section>
      <Crumbs nav={nav} path={[['/nodes', 'Nodes']]} here={node} />
      <h1>Node {node}</h1>
      {error !== null && <div className="banner error">{error}</div>}
      <Warning text={data?.message} />
      {data !== null && (
        <>
          <p className="summary">
            {data.topics.length} topics · {count(data.total_messages)} messages · {data.total_clients} clients
          </p>
          <table className="topics">
            <thead>
              <tr>
                <th>Topic / channel</th>
                <th className="n">Depth</th>
                <th className="n">In flight</th>
                <th className="n">Messages</th>
                <th className="n">Clients</th>
                {lookupd && <th />}
              </tr>
            </thead>
            <tbody>
              {data.topics.flatMap((t) => [
                <tr key={t.topic_name} className="topic-row">
                  <td>
                    <Link to={`/topics/${enc(t.topic_name)}`} nav={nav}>
                      {t.topic_name}
                    </Link>{' '}
                    <Paused on={t.paused} />
                  </td>
                  <td className="n">{count(t.depth)}</td>
                  <td className="n" />
                  <td className="n">{count(t.message_count)}</td>
                  <td className="n" />
                  {lookupd && (
                    <td>
                      <button type="button" disabled={!can} className="danger small" onClick={() => nav.confirmAct(`Tombstone ${t.topic_name} on ${node}? lookupd stops listing this node for the topic.`, 'DELETE', `/api/nodes/${enc(node)}`, { topic: t.topic_name })}>
                        Tombstone
                      </button>
                    </td>
                  )}
                </tr>,
                ...t.channels.map((c) => (
                  <tr key={`${t.topic_name}/${c.channel_name}`}>
                    <td className="indent">
                      <Link to={`/topics/${enc(t.topic_name)}/${enc(c.channel_name)}`} nav={nav}>
                        {c.channel_name}
                      </Link>{' '}
                      <Paused on={c.paused} />
                    </td>
                    <td className="n">{count(c.depth)}</td>
                    <td className="n">{count(c.in_flight_count)}</td>
                    <td className="n">{count(c.message_count)}</td>
                    <td className="n">{c.clients.length}</td>
                    {lookupd && <td />}
                  </tr>
                )),
              ])}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function CounterPage({ nav }: { nav: Nav }): React.JSX.Element {
  const m = nav.model;
  if (m === null) return <p>Loading…</p>;
  const processed = m.topics.reduce((s, t) => s + t.channels.reduce((x, c) => x + c.messageCount, 0), 0);
  const outRate = m.topics.reduce((s, t) => s + t.channels.reduce((x, c) => x + c.outRate, 0), 0);
  return (
    <section className="counter">
      <h1>Messages processed</h1>
      <p className="big" data-testid="processed">
        {count(processed)}
      </p>
      <p className="summary">
        <span className="rate">{rate(outRate)}</span> msg/s delivered now · <span className="rate">{rate(m.totals.inRate)}</span> msg/s published
      </p>
    </section>
  );
}

export function LookupPage({ nav }: { nav: Nav }): React.JSX.Element {
  const { data, error } = usePoll<{ topics: Record<string, string[]>; message: string }>('/api/topics?inactive=true', nav.version);
  const lookupds = nav.model?.lookupds ?? [];
  const can = nav.model?.can_act !== false;
  return (
    <section>
      <h1>Lookup</h1>
      {lookupds.length === 0 ? (
        <p>No lookupd: this admin server reads the nodes it was given (--nsqd-http-address).</p>
      ) : (
        <ul className="lookupds">
          {lookupds.map((l) => (
            <li key={l.address}>
              {l.address} {l.ok ? <span className="tag ok">answers</span> : <span className="tag stalled">{l.error ?? 'down'}</span>}
            </li>
          ))}
        </ul>
      )}
      <h2>Topics no node produces</h2>
      {error !== null && <div className="banner error">{error}</div>}
      <Warning text={data?.message} />
      {data !== null && Object.keys(data.topics).length === 0 && <p>None.</p>}
      {data !== null && Object.keys(data.topics).length > 0 && (
        <ul>
          {Object.entries(data.topics).map(([t, channels]) => (
            <li key={t}>
              {t} {channels.length > 0 && `(${channels.join(', ')})`}{' '}
              <button type="button" disabled={!can} className="danger small" onClick={() => nav.confirmAct(`Delete topic ${t} from lookupd?`, 'DELETE', `/api/topics/${enc(t)}`)}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
