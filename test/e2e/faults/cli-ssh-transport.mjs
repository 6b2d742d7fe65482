// The CLI is bundled (scripts/bundle.mjs): the SshTransport it runs is the copy in a shared chunk of
// dist/src/chunks, not dist/src/transport/ssh.js. A fault must wrap that copy, or it never fires and the
// test fails for the wrong reason. Imported by URL, the chunk is the same module instance main.js loads.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const dist = new URL('../../../dist/src/', import.meta.url);

export async function cliSshTransport() {
  const chunks = new URL('chunks/', dist);
  if (!existsSync(chunks)) return (await import(new URL('transport/ssh.js', dist).href)).SshTransport;
  for (const name of readdirSync(chunks).filter((f) => f.endsWith('.js'))) {
    const url = new URL(name, chunks);
    if (!readFileSync(url, 'utf8').includes('// src/transport/ssh.ts')) continue;
    const transport = (await import(url.href)).createTransport?.({ kind: 'ssh', name: 'fault' });
    if (transport) return transport.constructor;
  }
  throw new Error(`fault: no chunk of ${chunks.pathname} exports createTransport with the SSH transport (bundle layout changed?)`);
}
