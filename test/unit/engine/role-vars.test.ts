import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { expand, tasksOf } from '../ansible/helpers.js';

const API = JSON.stringify(join(import.meta.dirname, '..', '..', '..', 'src', 'index.ts'));
const ROLE = `import { defineRole, z } from ${API};
export default defineRole({
  name: 'site',
  summary: 'a site named after its host',
  vars: z.object({ site_domain: z.string().regex(/^[a-z0-9.-]+$/, 'a domain name'), site_port: z.number().int().default(80) }),
  tasks: (v) => [{ name: 'site file', module: 'copy', args: { dest: '/etc/site', content: v.site_domain + ':' + v.site_port } }],
});
`;
const PLAY = '- hosts: all\n  roles: [site]\n';

describe("a TypeScript role's variables", () => {
  it('are rendered before they are checked, with the host variables', async () => {
    const hosts = 'all:\n  vars:\n    site_domain: "{{ inventory_hostname }}.example.com"\n    site_port: "{{ 8000 + 80 }}"\n  hosts:\n    web1: {}\n';
    const { plays } = await expand({ 'hosts.yml': hosts, 'roles/site/index.ts': ROLE, 'site.yml': PLAY });
    expect(tasksOf(plays[0])).toEqual([['site file', expect.objectContaining({ content: 'web1.example.com:8080' })]]);
  });

  it('a bad value written in group_vars is reported at its line in group_vars, with that file\'s code frame', async () => {
    const hosts = 'all:\n  hosts:\n    web1: {}\n';
    const groupVars = '# the site\nsite_port: 80\nsite_domain: "not a domain"\n';
    const err = (await expand({ 'hosts.yml': hosts, 'group_vars/all.yml': groupVars, 'roles/site/index.ts': ROLE, 'site.yml': PLAY }).catch((e: unknown) => e)) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.location).toMatch(/group_vars\/all\.yml:3:14$/);
    expect(err.format()).toMatch(/site_domain[\s\S]*a domain name/);
    expect(err.format()).toContain('3 | site_domain: "not a domain"');
    // a template there that cannot render: also the group_vars line
    const broken = (await expand({ 'hosts.yml': hosts, 'host_vars/web1.yml': 'x: 1\nsite_domain: "{{ nope }}.example.com"\n', 'roles/site/index.ts': ROLE, 'site.yml': PLAY }).catch((e: unknown) => e)) as InputError;
    expect(broken.location).toMatch(/host_vars\/web1\.yml:2:14$/);
    expect(broken.format()).toMatch(/nope/);
    // the same value given as a role parameter in the play is the play's mistake
    const inPlay = (await expand({ 'hosts.yml': hosts, 'group_vars/all.yml': groupVars, 'roles/site/index.ts': ROLE, 'site.yml': '- hosts: all\n  roles:\n    - { role: site, vars: { site_domain: "also bad" } }\n' }).catch((e: unknown) => e)) as InputError;
    expect(inPlay.location).toMatch(/site\.yml:\d+/);
  });

  it('a rendered value that is still wrong is refused before any host is contacted', async () => {
    const hosts = 'all:\n  vars:\n    site_domain: "{{ inventory_hostname }} example"\n  hosts:\n    web1: {}\n';
    const err = await expand({ 'hosts.yml': hosts, 'roles/site/index.ts': ROLE, 'site.yml': PLAY }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).format()).toMatch(/site_domain[\s\S]*a domain name/);
  });
});
