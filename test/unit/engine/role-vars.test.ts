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

  it('a rendered value that is still wrong is refused before any host is contacted', async () => {
    const hosts = 'all:\n  vars:\n    site_domain: "{{ inventory_hostname }} example"\n  hosts:\n    web1: {}\n';
    const err = await expand({ 'hosts.yml': hosts, 'roles/site/index.ts': ROLE, 'site.yml': PLAY }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).format()).toMatch(/site_domain[\s\S]*a domain name/);
  });
});
