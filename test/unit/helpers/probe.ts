import { spawnSync } from 'node:child_process';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';

/** Run one probe through the engine's real batch script on this machine's /bin/sh and parse it. */
export function probeLocally<T>(p: Probe<T>): T {
  const nonce = newNonce();
  const batch = { probes: [p] };
  const r = spawnSync('sh', ['-c', renderBatch(batch, nonce)], { encoding: 'utf8' });
  const section = parseBatch(r.stdout, batch, nonce).probes.get(p.id)!;
  return p.parse(section.stdout, section.code);
}
