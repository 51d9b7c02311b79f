// Test certificates, made with openssl in a temporary folder: a CA, a server certificate it signed
// (for 127.0.0.1 and localhost), a client certificate it signed, and a self-signed client
// certificate no one vouches for.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './nsqd.js';

export interface TestCerts {
  dir: string;
  /** file paths */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherCert: string;
  otherKey: string;
  /** contents */
  read(file: string): Buffer;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCerts(t: { teardown(fn: () => unknown): void }): TestCerts {
  const dir = tempDir(t, 'nsq-tls-');
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  ssl('req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=nsq test CA', '-days', '1');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'server.ext');
  ssl('req', ...EC, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=nsq-test-client');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '1');
  ssl('req', '-x509', ...EC, '-keyout', 'other.key', '-out', 'other.pem', '-subj', '/CN=intruder', '-days', '1');
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    caCert: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    otherCert: p('other.pem'),
    otherKey: p('other.key'),
    read: (file) => readFileSync(file),
  };
}
