// nsq admin's page: a router over the nsqadmin routes (/, /topics/:t, /topics/:t/:c, /nodes,
// /nodes/:n, /counter, /lookup), a header, and a confirmation before every action.

import type React from 'react';
import { createRoot } from 'react-dom/client';
import { useCallback, useEffect, useState } from 'react';
import { BASE, VERSION, act, usePoll, type Model } from './data.js';
import { Link, currentPath, type Nav } from './nav.js';
import { ChannelPage, CounterPage, LookupPage, NodePage, NodesPage, StreamsPage, TopicPage } from './views.js';

interface Pending {
  question: string;
  run: () => Promise<string>;
  after?: string;
}

function App(): React.JSX.Element {
  const [path, setPath] = useState(currentPath());
  const [version, setVersion] = useState(0);
  const [pending, setPending] = useState<Pending | null>(null);
  const [banner, setBanner] = useState<{ kind: 'ok' | 'warn' | 'error'; text: string } | null>(null);
  const { data: model, error: modelError } = usePoll<Model>('/api/model', version);

  useEffect(() => {
    const onPop = (): void => setPath(currentPath());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const go = useCallback((to: string) => {
    window.history.pushState(null, '', `${BASE}${to}`);
    setPath(to);
    setBanner(null);
    window.scrollTo(0, 0);
  }, []);

  const confirmAct = useCallback((question: string, method: 'POST' | 'DELETE', p: string, body?: unknown, after?: string) => {
    setPending({ question, run: () => act(method, p, body), ...(after === undefined ? {} : { after }) });
  }, []);

  const nav: Nav = { go, confirmAct, model, modelError, version };
  const parts = path.split('/').filter((x) => x !== '').map((x) => decodeURIComponent(x));
  let page: React.JSX.Element;
  if (parts.length === 0) page = <StreamsPage nav={nav} />;
  else if (parts[0] === 'topics' && parts.length === 1) page = <StreamsPage nav={nav} />;
  else if (parts[0] === 'topics' && parts.length === 2) page = <TopicPage nav={nav} topic={parts[1]!} />;
  else if (parts[0] === 'topics' && parts.length === 3) page = <ChannelPage nav={nav} topic={parts[1]!} channel={parts[2]!} />;
  else if (parts[0] === 'nodes' && parts.length === 1) page = <NodesPage nav={nav} />;
  else if (parts[0] === 'nodes' && parts.length === 2) page = <NodePage nav={nav} node={parts[1]!} />;
  else if (parts[0] === 'counter') page = <CounterPage nav={nav} />;
  else if (parts[0] === 'lookup') page = <LookupPage nav={nav} />;
  else page = <p className="error">No such page: {path}</p>;

  const section = parts[0] ?? 'topics';
  const down = model?.nodes.filter((n) => !n.up) ?? [];
  return (
    <>
      <header>
        <Link to="/" nav={nav} className="brand">
          nsq admin
        </Link>
        <nav>
          {(
            [
              ['topics', '/', 'Streams'],
              ['nodes', '/nodes', 'Nodes'],
              ['counter', '/counter', 'Counter'],
              ['lookup', '/lookup', 'Lookup'],
            ] as const
          ).map(([key, to, label]) => (
            <Link key={key} to={to} nav={nav} className={section === key ? 'active' : ''}>
              {label}
            </Link>
          ))}
        </nav>
        <span className="version">v{VERSION}</span>
      </header>
      <main>
        {modelError !== null && <div className="banner error">The admin server does not answer: {modelError}</div>}
        {down.length > 0 && (
          <div className="banner warn" role="alert">
            {down.map((n) => `${n.address} is down${n.error === undefined ? '' : ` (${n.error})`}`).join('; ')}
          </div>
        )}
        {banner !== null && (
          <div className={`banner ${banner.kind}`} role="status">
            {banner.text}
          </div>
        )}
        {page}
      </main>
      {pending !== null && (
        <div className="modal" role="dialog" aria-modal="true" aria-label="confirm">
          <div className="box">
            <p>{pending.question}</p>
            <div className="buttons">
              <button type="button" onClick={() => setPending(null)}>
                Cancel
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => {
                  const p = pending;
                  setPending(null);
                  p.run().then(
                    (warning) => {
                      setBanner(warning === '' ? { kind: 'ok', text: 'Done.' } : { kind: 'warn', text: warning });
                      setVersion((v) => v + 1);
                      if (p.after !== undefined) go(p.after);
                    },
                    (e: unknown) => setBanner({ kind: 'error', text: `Failed: ${e instanceof Error ? e.message : String(e)}` }),
                  );
                }}
              >
                Yes, do it
              </button>
            </div>
          </div>
        </div>
      )}
    </>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
