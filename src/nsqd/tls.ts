// nsqd's TLS configuration: the certificate, client certificate policy and minimum version, read
// once at start (a bad file is a one-line error then, not at the first client), and the TLS upgrade
// of one TCP connection after IDENTIFY.

import { readFileSync } from 'node:fs';
import type { SecureContext, SecureVersion, TLSSocket, TlsOptions } from 'node:tls';
import { tls } from '../util/builtins.js';
import type { Socket } from 'node:net';
import type { ClientTls } from '../client/connection.js';
import { UserError } from '../util/errors.js';
import { TLS_NOT_REQUIRED, TLS_REQUIRED, type NsqdOptions } from './options.js';

/** nsqd's --tls-min-version values → Node's name and Go's wire number (reported by /config). */
export const TLS_VERSIONS: Record<string, { node: SecureVersion; wire: number }> = {
  // Node's OpenSSL has no SSL 3.0: the lowest it offers is TLS 1.0
  'ssl3.0': { node: 'TLSv1', wire: 0x0300 },
  'tls1.0': { node: 'TLSv1', wire: 0x0301 },
  'tls1.1': { node: 'TLSv1.1', wire: 0x0302 },
  'tls1.2': { node: 'TLSv1.2', wire: 0x0303 },
  'tls1.3': { node: 'TLSv1.3', wire: 0x0304 },
};

export interface NsqdTls {
  context: SecureContext;
  /** for the HTTPS listener */
  serverOptions: TlsOptions;
  requestCert: boolean;
  /** the handshake itself fails without a certificate signed by the root CA */
  rejectUnauthorized: boolean;
  /** `require`: a certificate must be presented, whoever signed it */
  requireCert: boolean;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new UserError(`failed to build TLS config - ${what} ${file}: ${why}`, 'E_TLS_CONFIG', 1);
  }
}

/**
 * Reads the TLS files named by the options (null: no certificate, plain TCP only). Also applies
 * nsqd's rules: a client auth policy implies --tls-required, and TLS cannot be required without a
 * certificate.
 */
export function buildTls(o: NsqdOptions): NsqdTls | null {
  if (o.tlsClientAuthPolicy !== '' && o.tlsRequired === TLS_NOT_REQUIRED) o.tlsRequired = TLS_REQUIRED;
  if (o.tlsCert === '' && o.tlsKey === '') {
    if (o.tlsRequired !== TLS_NOT_REQUIRED) throw new UserError('cannot require TLS client connections without TLS key and cert', 'E_TLS_CONFIG', 1);
    return null;
  }
  if (o.tlsCert === '' || o.tlsKey === '') throw new UserError('failed to build TLS config - --tls-cert and --tls-key must be given together', 'E_TLS_CONFIG', 1);
  const version = TLS_VERSIONS[o.tlsMinVersion] ?? TLS_VERSIONS['tls1.2']!;
  const options: TlsOptions = {
    cert: readPem(o.tlsCert, 'open'),
    key: readPem(o.tlsKey, 'open'),
    minVersion: version.node,
  };
  // OpenSSL's default security level refuses TLS 1.0/1.1 even when they are allowed
  if (version.node === 'TLSv1' || version.node === 'TLSv1.1') options.ciphers = 'DEFAULT:@SECLEVEL=0';
  if (o.tlsRootCaFile !== '') options.ca = readPem(o.tlsRootCaFile, 'open');
  let context: SecureContext;
  try {
    context = tls().createSecureContext(options);
  } catch (err) {
    throw new UserError(`failed to build TLS config - ${(err as Error).message}`, 'E_TLS_CONFIG', 1);
  }
  const requestCert = o.tlsClientAuthPolicy !== '';
  const rejectUnauthorized = o.tlsClientAuthPolicy === 'require-verify';
  return {
    context,
    serverOptions: { ...options, requestCert, rejectUnauthorized },
    requestCert,
    rejectUnauthorized,
    requireCert: requestCert,
  };
}

/**
 * What this node trusts and presents when it dials its replicas (docs/replication.md, "TLS and AUTH
 * on a link"): its --tls-root-ca-file verifies the replica's certificate (Node's roots without one),
 * its --tls-cert/--tls-key is the client certificate. Null: neither a root CA nor a certificate, so
 * the links are plain. Otherwise a link is TLS or nothing: a replica that does not offer TLS is
 * refused, so no one between the nodes can turn it plain by answering IDENTIFY without tls_v1.
 */
export function buildReplicaTls(o: NsqdOptions): ClientTls | null {
  if (o.tlsRootCaFile === '' && o.tlsCert === '') return null;
  const client: ClientTls = {};
  if (o.tlsRootCaFile !== '') client.ca = readPem(o.tlsRootCaFile, 'open');
  if (o.tlsCert !== '') {
    client.cert = readPem(o.tlsCert, 'open');
    client.key = readPem(o.tlsKey, 'open');
  }
  try {
    tls().createSecureContext(client);
  } catch (err) {
    throw new UserError(`failed to build TLS config - ${(err as Error).message}`, 'E_TLS_CONFIG', 1);
  }
  return client;
}

/**
 * Starts the server side of a TLS handshake on `raw`. `early` holds bytes the client sent after
 * IDENTIFY that were already read: they belong to the handshake.
 */
export function upgradeToTls(raw: Socket, t: NsqdTls, early: Buffer): TLSSocket {
  // bytes left in the socket's read buffer are fed to the TLS layer when it starts reading
  raw.pause();
  if (early.length > 0) raw.unshift(early);
  return new (tls().TLSSocket)(raw, { isServer: true, secureContext: t.context, requestCert: t.requestCert, rejectUnauthorized: t.rejectUnauthorized });
}

/** The client certificate's subject common name ('' without one), as auth servers are told it. */
export function peerCommonName(secure: TLSSocket): string {
  const cn = secure.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' ? cn : Array.isArray(cn) ? (cn[0] ?? '') : '';
}

/** Go's names for the negotiated version, as nsqd's /stats shows them. */
export function goTlsVersion(protocol: string | null): string {
  switch (protocol) {
    case 'TLSv1':
      return 'TLS1.0';
    case 'TLSv1.1':
      return 'TLS1.1';
    case 'TLSv1.2':
      return 'TLS1.2';
    case 'TLSv1.3':
      return 'TLS1.3';
  }
  return `Unknown ${protocol ?? ''}`.trim();
}

/**
 * Why the client's certificate does not meet the policy (null: it does). A TLS socket made
 * without a tls.Server asks for the certificate but leaves judging it to us.
 */
export function clientCertRefusal(secure: TLSSocket, t: NsqdTls): string | null {
  if (!t.requireCert) return null;
  if (Object.keys(secure.getPeerCertificate()).length === 0) return "client didn't provide a certificate";
  if (!t.rejectUnauthorized) return null;
  // the verification result OpenSSL recorded during the handshake; without it, refuse
  const handle = (secure as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null | undefined } })._handle;
  if (typeof handle?.verifyError !== 'function') return 'cannot verify the client certificate';
  const err = handle.verifyError();
  return err ? `failed to verify client certificate: ${err.code ?? err.message}` : null;
}
