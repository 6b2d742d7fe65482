import { describe, expect, it } from 'vitest';
import { interruptReporter } from '../../../src/cli/interrupt.js';
import type { TaskResult } from '../../../src/core/result.js';

const result = (name: string, status: TaskResult['status']): TaskResult => ({ name, module: 'copy', status, reason: '', diff: [], commands: [], durationMs: 1 });

describe('Ctrl-C report', () => {
  it('says where every host stood: finished, interrupted during a task, not started', () => {
    const r = interruptReporter(['web1', 'web2', 'web3'], false, 120);
    r.track({ type: 'host-start', host: 'web1' });
    r.track({ type: 'task-start', host: 'web1', task: 'a' });
    r.track({ type: 'task-done', host: 'web1', result: result('a', 'changed') });
    r.track({ type: 'host-done', host: 'web1', report: { host: 'web1', ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: false, tasks: [] } as never });
    r.track({ type: 'host-start', host: 'web2' });
    r.track({ type: 'task-start', host: 'web2', task: 'b' });
    r.track({ type: 'task-done', host: 'web2', result: result('b', 'changed') });
    r.track({ type: 'task-start', host: 'web2', task: 'install docker' });
    const text = r.report();
    expect(text).toMatch(/^interrupted \(Ctrl-C\)/);
    expect(text).toContain('web1: finished before the interruption: changed "a"');
    expect(text).toContain('web2: interrupted during "install docker"; changed "b"; "install docker" may or may not have been applied: re-run to converge');
    expect(text).toContain('web3: not started, unchanged');
    expect(text).toMatch(/reverts itself on its host within 120s/);
  });
});
