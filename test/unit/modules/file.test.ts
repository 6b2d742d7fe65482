import { describe, expect, it } from 'vitest';
import { describeStep } from '../../../src/core/step.js';
import { planFor } from '../helpers/plan.js';

const absent = { exists: false };
const dir755 = { exists: true, type: 'directory', mode: '755', owner: 'root', group: 'root', size: 4096 };

describe('file module plans', () => {
  it('creates a missing directory with its mode and owner', () => {
    const p = planFor('file', { path: '/srv/app', state: 'directory', mode: '0750', owner: 'deploy' }, { stat: absent });
    expect(p.steps.map(describeStep)).toEqual(['mkdir -p -- /srv/app', 'chmod 750 -- /srv/app', 'chown -h deploy -- /srv/app']);
    // every step goes through the safe-path checks; chown as root by name, never through a link
    expect(p.steps.map((s) => s.kind)).toEqual(['path', 'path', 'path']);
    expect(p.steps[2]).toMatchObject({ root: true });
  });

  it('does nothing for a directory already right, and says why', () => {
    const p = planFor('file', { path: '/srv/app', state: 'directory', mode: '0755', owner: 'root' }, { stat: dir755 });
    expect(p.steps).toEqual([]);
    expect(p.reason).toMatch(/wanted mode and owner/);
  });

  it('takes a number as Ansible does: the mode bits themselves (YAML 1.1 reads an unquoted 0750 as 488)', () => {
    const p = planFor('file', { path: '/x', state: 'directory', mode: 0o750 }, { stat: dir755 });
    expect(p.steps.map(describeStep)).toEqual(['chmod 750 -- /x']);
    expect(() => planFor('file', { path: '/x', state: 'directory', mode: 99999 }, { stat: dir755 })).toThrow(/octal string/);
  });

  it('fails, without running anything, when state=file names a missing file', () => {
    const p = planFor('file', { path: '/nope', state: 'file' }, { stat: absent });
    expect(p.steps).toEqual([]);
    expect(p.fail).toMatch(/does not exist/);
  });
});
