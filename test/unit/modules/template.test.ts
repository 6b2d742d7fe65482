import { describe, expect, it } from 'vitest';
import type { Plan, PrepareContext } from '../../../src/core/module.js';
import { describeStep } from '../../../src/core/step.js';
import { parseStatLine, type FileContent } from '../../../src/facts/file.js';
import template from '../../../src/modules/template.js';
import { debian12, sshAccess } from '../helpers/plan.js';

const asked: string[] = [];
// a stand-in for the engine's nunjucks renderer: enough to see that rendering happens before planning
const ctx: PrepareContext = {
  readLocal: (path, kind) => (asked.push(`${kind}/${path}`), 'Port {{ port }}\nPermitRootLogin no\n'),
  render: (text) => text.replace('{{ port }}', '2222'),
};
const RENDERED = 'Port 2222\nPermitRootLogin no\n';

/** planFor() for a module not yet in the registry, with prepare run as the engine does. */
function plan(args: unknown, file: FileContent): Plan {
  const a = template.prepare!(template.schema.parse(args), ctx);
  expect(Object.keys(template.facts(a))).toEqual(['file']);
  return template.plan(a, { file }, { host: debian12, access: sshAccess, check: false });
}

const sshd = (text: string): FileContent => ({ ...parseStatLine(`regular file|644|root|root|${text.length}`), content: text });
const ARGS = { src: 'sshd_config.j2', dest: '/etc/ssh/sshd_config', validate: '/usr/sbin/sshd -t -f %s' };

describe('template module plans', () => {
  it('renders on the controller and writes the result, validated', () => {
    const p = plan(ARGS, sshd('Port 22\nPermitRootLogin no\n'));
    expect(asked).toContain('templates/sshd_config.j2');
    expect(p.steps).toEqual([{ kind: 'write', path: '/etc/ssh/sshd_config', content: RENDERED, validate: '/usr/sbin/sshd -t -f %s' }]);
    expect(p.reason).toBe('update /etc/ssh/sshd_config from sshd_config.j2');
    expect(p.diff).toEqual([{ subject: '/etc/ssh/sshd_config', before: 'Port 22\nPermitRootLogin no\n', after: RENDERED }]);
  });

  it('does nothing when the rendered text is already in place, and says so', () => {
    const p = plan({ ...ARGS, mode: '0644' }, sshd(RENDERED));
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('/etc/ssh/sshd_config already has the wanted content, mode and owner');
  });

  it('shares copy’s attribute handling', () => {
    const p = plan({ ...ARGS, owner: 'root', group: 'ssh' }, sshd(RENDERED));
    expect(p.steps.map(describeStep)).toEqual(['chown root:ssh -- /etc/ssh/sshd_config']);
  });

  it('refuses to plan an unrendered template, and users setting the rendered text', () => {
    const a = template.schema.parse(ARGS);
    expect(() => template.plan(a, { file: { exists: false } }, { host: debian12, access: sshAccess, check: false })).toThrow(/not rendered/);
    expect(() => template.schema.parse({ ...ARGS, rendered: 'x' })).toThrow();
    expect(() => template.schema.parse({ ...ARGS, content: 'x' })).toThrow();
    expect(() => template.schema.parse({ ...ARGS, dest: '/etc/ssh/' })).toThrow(/give the file name/);
  });
});
