import { describe, expect, it } from 'vitest';
import { formatRecap, formatResult, toJson } from '../../../src/cli/output.js';
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

describe('the recap of an unreachable host', () => {
  const report = { hosts: { h1: summarize('h1', [r]), h2: { ...summarize('h2', []), unreachable: true } } };
  it('check: the host was not read, so its drift is unknown (apply\'s "hosts already done" has no meaning there)', () => {
    expect(formatRecap(report, opts).at(-1)).toBe('Unreachable hosts were not read: whether they drifted is unknown (exit 4, even where others drifted); fix the connection (see the message above) and re-run check.');
  });
  it('apply: not changed, re-run', () => {
    expect(formatRecap(report, { ...opts, check: false }).at(-1)).toMatch(/^Unreachable hosts were not changed;/);
  });
});
