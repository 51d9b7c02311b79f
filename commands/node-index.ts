// What `nsq serve --nodes` (commands/serve-nodes.ts) and each node it starts (commands/serve-run.ts)
// agree on, in a module of its own: the supervisor never loads the engine, and a node never loads
// the supervisor.

/** the environment variable that tells a node it is supervised, and which one it is */
export const NODE_INDEX_ENV = 'NSQ_NODE_INDEX';

/** What a node tells the supervisor once it listens. */
export interface NodeListening {
  tcp: string;
  http: string;
  https: string | null;
}
