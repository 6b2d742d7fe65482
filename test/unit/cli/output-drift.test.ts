import { describe, expect, it } from 'vitest';
import { formatResult, toJson } from '../../../src/cli/output.js';
import { summarize, type TaskResult } from '../../../src/core/result.js';

const drift = { what: 'ufw is inactive', why: 'every port is open', where: '/etc/ufw/ufw.conf (ENABLED=no)', fix: 'ufw --force enable' };
const r: TaskResult = { name: 'firewall rules', role: 'firewall', module: 'ufw', status: 'changed', reason: 'would enable ufw', diff: [], commands: ['ufw --force enable'], drift: [drift], durationMs: 3 };
const opts = { check: true, diff: false, verbose: false, color: false };

describe('drift in the output', () => {
  it('check says what, why, where and the fix under the task', () => {
    expect(formatResult('h1', r, opts).slice(1)).toEqual([
      '    drift: ufw is inactive',
      '      why:   every port is open',
      '      where: /etc/ufw/ufw.conf (ENABLED=no)',
      '      fix:   ufw --force enable',
    ]);
  });

  it('apply repeats it only with --diff or -v; --json always carries it', () => {
    expect(formatResult('h1', r, { ...opts, check: false })).toHaveLength(1);
    expect(formatResult('h1', r, { ...opts, check: false, verbose: true })).toHaveLength(5);
    const json = JSON.parse(toJson({ hosts: { h1: summarize('h1', [r]) } }));
    expect(json.hosts.h1.tasks[0].drift).toEqual([drift]);
  });
});
