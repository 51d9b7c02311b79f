// host:port, read one way everywhere: listen addresses, the addresses clients dial, flags and
// config values. `[::1]:4150` for IPv6; an empty host is left to the caller (listen: every
// interface, dial: 127.0.0.1).

export interface HostPort {
  host: string;
  port: number;
}

const HOST_PORT = /^(?:\[([^\]]*)\]|([^:/\s]*))(?::(\d{1,5}))?$/;

/**
 * Parses `host:port`; a missing port takes `defaultPort` when one is given (a dialled address),
 * and is an error otherwise (a listen address). null when the text is not an address.
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort | null {
  const m = HOST_PORT.exec(text.trim());
  if (m === null) return null;
  if (m[3] === undefined && defaultPort === undefined) return null;
  const port = m[3] === undefined ? defaultPort! : Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  return { host: m[1] ?? m[2] ?? '', port };
}

/** An HTTP address as the tools take it: host:port, or http(s)://host:port[/]. */
export function stripHttpScheme(address: string): string {
  return address.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
