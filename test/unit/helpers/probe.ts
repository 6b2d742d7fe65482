import { spawnSync } from 'node:child_process';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';

/** Run one probe through the engine's real batch script on this machine's /bin/sh and parse it. */
export function probeLocally<T>(p: Probe<T>): T {
  return probesLocally([p])[0] as T;
}

/** Run probes in ONE batch script on this machine's /bin/sh (batched ones through their batcher) and parse each. */
export function probesLocally(probes: Probe[]): unknown[] {
  const nonce = newNonce();
  const batch = { probes };
  const r = spawnSync('sh', ['-c', renderBatch(batch, nonce)], { encoding: 'utf8' });
  const out = parseBatch(r.stdout, batch, nonce);
  return probes.map((p) => {
    const section = out.probes.get(p.id)!;
    return p.parse(section.stdout, section.code);
  });
}

/** The same probe answered by its own script, as it was before batching (or composing): what a batched answer must equal. */
export function alone<T>(p: Probe<T>): Probe<T> {
  const { batch: _batch, inline: _inline, compose: _compose, ...rest } = p;
  return rest;
}
