import { probeLocally } from '../helpers/probe.js';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { normalizeSysctlValue, sysctlValue } from '../../../src/facts/sysctl.js';

const hasSysctl = spawnSync('sh', ['-c', 'command -v sysctl']).status === 0;

describe('sysctl runtime value', () => {
  const p = sysctlValue('net.ipv4.ip_local_port_range');

  it('parses recorded `sysctl -n` output, tabs and all', () => {
    expect(p.parse('32768\t60999\n', 0)).toBe('32768 60999');
    expect(p.parse('1\n', 0)).toBe('1');
  });

  it('reads an unknown key (non-zero exit, "cannot stat /proc/sys/...") as absent', () => {
    expect(p.parse('', 1)).toBeUndefined();
    expect(p.parse('', 255)).toBeUndefined();
  });

  it('normalizes playbook values the same way', () => {
    expect(normalizeSysctlValue(' 4096  87380\t6291456 ')).toBe('4096 87380 6291456');
  });

  it.skipIf(!hasSysctl)('runs under /bin/sh on this machine', () => {
    expect(probeLocally(sysctlValue('kernel.ostype'))).toBe('Linux');
    expect(probeLocally(sysctlValue("shipshape.no.such'key"))).toBeUndefined();
  });
});

describe('sysctl values of a play, read together', () => {
  it.skipIf(!hasSysctl)('one head over /proc/sys gives what sysctl -n gives, multi-digit and missing keys too', async () => {
    const { probesLocally, alone } = await import('../helpers/probe.js');
    const names = ['kernel.ostype', 'kernel.pid_max', 'net.ipv4.ip_local_port_range', 'shipshape.no.such.key', 'fs.file-max'];
    const probes = names.map(sysctlValue);
    expect(probes.every((p) => p.batch)).toBe(true);
    const batched = probesLocally(probes);
    expect(batched).toEqual(probes.map((p) => probesLocally([alone(p)])[0]));
    expect(String(batched[1])).toMatch(/^\d{2,}$/);
    expect(batched[3]).toBeUndefined();
  });
});
