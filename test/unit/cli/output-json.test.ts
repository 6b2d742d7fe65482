import { describe, expect, it } from 'vitest';
import { toJson, writeJson } from '../../../src/cli/output.js';
import { summarize, type TaskResult } from '../../../src/core/result.js';

const task = (i: number, extra: Partial<TaskResult> = {}): TaskResult => ({
  name: `task "${i}"\nwith a newline`,
  module: 'copy',
  status: i % 2 ? 'ok' : 'changed',
  reason: `reason ${i}`,
  diff: i % 2 ? [] : [{ subject: '/etc/x', before: 'a\n', after: 'b\n' }],
  commands: [],
  durationMs: i,
  ...extra,
});

const report = {
  hosts: {
    web1: { ...summarize('web1', [task(1), task(2, { role: 'ssh', output: 'line1\nline2' })]), stats: { roundTrips: 3, logins: 1, timings: { loginMs: 1.5, factsMs: 2, applyMs: 0 } } },
    'db "2"': summarize('db "2"', [], true, 'no SSH connection'),
    empty: summarize('empty', []),
  },
};

describe('--json written host by host', () => {
  it('is the very text one JSON.stringify of the whole document gives, with and without stats', () => {
    for (const stats of [undefined, { startMs: 240, peakRssMb: 101.5 }]) {
      const parts: string[] = [];
      writeJson(report, stats, (t) => parts.push(t));
      const text = parts.join('');
      // canonical: parsing and printing it again changes nothing, and the keys keep their order
      expect(JSON.stringify(JSON.parse(text), null, 2)).toBe(text);
      expect(Object.keys(JSON.parse(text))).toEqual(stats ? ['stats', 'hosts'] : ['hosts']);
      expect(Object.keys(JSON.parse(text).hosts)).toEqual(['web1', 'db "2"', 'empty']);
      expect(JSON.parse(text).hosts.web1.tasks[1]).toMatchObject({ role: 'ssh', output: 'line1\nline2', status: 'changed' });
      // one piece per host (plus the head and the tail), never the whole document at once
      expect(parts).toHaveLength(2 + 3);
      expect(toJson(report, stats)).toBe(text);
    }
    expect(JSON.parse(toJson({ hosts: {} }))).toEqual({ hosts: {} });
  });
});
