import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/core/module.js';
import group from '../../../src/modules/group.js';
import { debian12, sshAccess } from '../helpers/plan.js';

/** planFor() for a module not yet in the registry: schema applied, fixture facts checked against the module's. */
function plan(args: unknown, facts: Record<string, unknown>): Plan {
  const a = group.schema.parse(args);
  expect(Object.keys(facts).sort()).toEqual(Object.keys(group.facts(a)).sort());
  return group.plan(a, facts as never, { host: debian12, access: sshAccess, check: false });
}
const argv = (p: Plan) => p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind));

const docker = { name: 'docker', gid: 997, members: ['alice'] };

describe('group module plans', () => {
  it.each([
    ['creates a missing group', { name: 'docker' }, undefined, ['groupadd docker'], /^create group docker$/],
    ['creates a system group with a gid', { name: 'docker', gid: 997, system: true }, undefined, ['groupadd -g 997 -r docker'], /create system group docker with gid 997/],
    ['changes the gid', { name: 'docker', gid: 2000 }, docker, ['groupmod -g 2000 docker'], /gid 997 -> 2000/],
    ['removes a group', { name: 'docker', state: 'absent' }, docker, ['groupdel docker'], /remove group docker \(gid 997\)/],
  ])('%s', (_, args, found, steps, reason) => {
    const p = plan(args, { group: found });
    expect(argv(p)).toEqual(steps);
    expect(p.reason).toMatch(reason);
    expect(p.diff).toHaveLength(1);
  });

  it.each([
    ['an existing group', { name: 'docker' }, docker, 'group docker exists'],
    ['an existing group with the wanted gid', { name: 'docker', gid: 997 }, docker, 'group docker exists with gid 997'],
    ['an existing group asked to be a system group (not changeable, as in Ansible)', { name: 'docker', system: true }, docker, 'group docker exists'],
    ['an absent group', { name: 'docker', state: 'absent' }, undefined, 'group docker is already absent'],
  ])('does nothing for %s, and says why', (_, args, found, reason) => {
    const p = plan(args, { group: found });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe(reason);
  });

  it('refuses names useradd would refuse or getent would read as a gid', () => {
    expect(() => group.schema.parse({ name: '1000' })).toThrow(/group name/);
    expect(() => group.schema.parse({ name: 'a b' })).toThrow(/group name/);
    expect(() => group.schema.parse({ name: 'docker', members: ['x'] })).toThrow();
  });
});
