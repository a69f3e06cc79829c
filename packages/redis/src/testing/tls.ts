/**
 * TLS material for test servers: a throwaway certificate authority and a certificate it signed
 * for 127.0.0.1, made with the `openssl` command (or `$OPENSSL_BIN`). Clients trust the CA file
 * (`ca` of `tls.connect`, `NODE_EXTRA_CA_CERTS` for a child process, `--cacert` of `redis-cli`).
 */

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** PEM files in one directory. */
export interface TlsFiles {
  /** The CA certificate clients trust. */
  readonly caFile: string;
  /** The server certificate (subject alternative name IP:127.0.0.1) and its key. */
  readonly certFile: string;
  readonly keyFile: string;
}

/** Makes a CA and a server certificate for 127.0.0.1 in `dir` (valid for a day; P-256 keys). */
export async function createTestCertificates(dir: string): Promise<TlsFiles> {
  const file = (name: string) => join(dir, name);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    ['req', '-x509', ...key, '-keyout', file('ca.key'), '-out', file('ca.crt')].concat([
      '-days',
      '1',
      '-subj',
      '/CN=ystate test CA',
    ]),
  );
  await openssl(
    ['req', ...key, '-keyout', file('server.key'), '-out', file('server.csr')].concat([
      '-subj',
      '/CN=127.0.0.1',
    ]),
  );
  await writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await openssl(
    ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key')].concat([
      '-CAcreateserial',
      '-out',
      file('server.crt'),
      '-days',
      '1',
      '-extfile',
      file('server.ext'),
    ]),
  );
  return { caFile: file('ca.crt'), certFile: file('server.crt'), keyFile: file('server.key') };
}

function openssl(args: readonly string[]): Promise<void> {
  const binary = process.env.OPENSSL_BIN ?? 'openssl';
  return new Promise((resolve, reject) => {
    execFile(binary, [...args], { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`openssl ${args[0]} failed: ${stderr || error.message}`));
      else resolve();
    });
  });
}
