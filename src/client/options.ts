// What every client tool is told about where and how to connect (the commands' shared flags,
// read by commands/flags/client.ts): nodes, lookupds, identity and secret.

export interface ClientOptions {
  nsqdTcpAddresses: string[];
  nsqdHttpAddresses: string[];
  /** lookupd HTTP addresses: nodes are discovered through them (empty: none given) */
  lookupdHttpAddresses: string[];
  /** ms between lookupd polls */
  lookupdPollInterval: number;
  userAgent: string;
  /** sent with AUTH to servers that require it ('' : none) */
  authSecret: string;
}
