// The error a durable publish fails with when its replicas did not confirm it: its own module, so
// the protocol and HTTP handlers can recognise it without loading replication (only --durable does).

export class ReplicationUnconfirmed extends Error {
  readonly code = 'E_REPL_UNCONFIRMED';
}
