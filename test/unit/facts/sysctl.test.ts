import { probeLocally } from '../helpers/probe.js';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { normalizeSysctlValue, sysctlValue } from '../../../src/facts/sysctl.js';

import { parseSysctlFiles } from '../../../src/facts/sysctl-files.js';
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

describe('sysctl.d files: sizes from stat, every text from one tail, cut by size', () => {
  const dump = (files: [string, string][]) =>
    files.map(([p, c]) => `S ${Buffer.byteLength(c)} ${p}\n`).join('') + files.map(([p, c], i) => `${i ? '\n' : ''}==> ${p} <==\n${c}`).join('');

  it('keeps texts exact: no final newline, empty files, a line posing as another file, UTF-8', () => {
    const files: [string, string][] = [
      ['/etc/sysctl.d/a.conf', 'kernel.x = 1\n==> /etc/sysctl.d/b.conf <==\nkernel.y = 0\n'],
      ['/etc/sysctl.d/b.conf', ''],
      ['/usr/lib/sysctl.d/c.conf', 'fs.z = 2 # grüße'],
      ['/usr/lib/sysctl.d/d.conf', '\n\n'],
    ];
    expect(parseSysctlFiles(dump(files))).toEqual(files.map(([path, content]) => ({ path, content })));
  });

  it('no file at all prints nothing', () => {
    expect(parseSysctlFiles('')).toEqual([]);
  });

  it('a file that grew between stat and tail is read up to the next header', () => {
    const out = 'S 3 /etc/sysctl.d/a.conf\nS 2 /etc/sysctl.d/b.conf\n==> /etc/sysctl.d/a.conf <==\na=1\nb=2\n\n==> /etc/sysctl.d/b.conf <==\nc\n';
    expect(parseSysctlFiles(out)).toEqual([
      { path: '/etc/sysctl.d/a.conf', content: 'a=1\nb=2\n' },
      { path: '/etc/sysctl.d/b.conf', content: 'c\n' },
    ]);
  });
});
