// A small CA and the certificate Pebble's ACME listener serves. Clients (the engine's Caddy role, the
// tests) trust the CA, as they would trust a public CA for a real ACME server. Made once, kept on disk.
import fs from 'node:fs';
import path from 'node:path';
import { GATEWAY } from './addressing.js';
import { labPaths } from './paths.js';
import { sh } from './shell.js';

export function pkiPaths() {
  const dir = labPaths().pki;
  return {
    dir,
    caCert: path.join(dir, 'lab-ca.pem'),
    caKey: path.join(dir, 'lab-ca.key'),
    listenerCert: path.join(dir, 'pebble-listener.pem'),
    listenerKey: path.join(dir, 'pebble-listener.key'),
  };
}

export async function ensureListenerPki(): Promise<ReturnType<typeof pkiPaths>> {
  const p = pkiPaths();
  if (fs.existsSync(p.listenerCert) && fs.existsSync(p.caCert)) return p;
  // build beside, then rename: an interrupted run never leaves a CA without its leaf
  const tmp = `${p.dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const t = (f: string) => path.join(tmp, path.basename(f));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await sh`openssl req -x509 ${ec} -keyout ${t(p.caKey)} -out ${t(p.caCert)} -days 3650 -subj ${'/CN=shipshape lab CA'} -addext ${'basicConstraints=critical,CA:TRUE'} -addext ${'keyUsage=critical,keyCertSign,cRLSign'}`;
  const ext = path.join(tmp, 'leaf.ext');
  fs.writeFileSync(
    ext,
    // 127.0.0.1 too: the management port (issuing root) is served with the same certificate
    `subjectAltName=IP:${GATEWAY},IP:127.0.0.1,DNS:pebble.lab.test,DNS:localhost\n` +
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  const csr = path.join(tmp, 'leaf.csr');
  await sh`openssl req ${ec} -keyout ${t(p.listenerKey)} -out ${csr} -subj ${'/CN=pebble.lab.test'}`;
  await sh`openssl x509 -req -in ${csr} -CA ${t(p.caCert)} -CAkey ${t(p.caKey)} -set_serial ${'0x' + Date.now().toString(16)} -days 825 -extfile ${ext} -out ${t(p.listenerCert)}`;
  fs.rmSync(csr);
  fs.rmSync(ext);
  fs.rmSync(p.dir, { recursive: true, force: true });
  fs.renameSync(tmp, p.dir);
  return p;
}
