import { z } from 'zod';
import { defineModule, type ModuleDef } from '../../../src/core/module.js';
import file from '../../../src/modules/file.js';
import { defineRole, type RoleDef } from '../../../src/playbook/role.js';

/** Stand-ins with stable schemas, so these tests do not move when the real modules evolve. */
const fake = (name: string, schema: z.ZodType): ModuleDef =>
  defineModule({ name, summary: `fake ${name}`, schema, facts: () => ({}), plan: () => ({ steps: [], reason: 'fake' }) });

export const modules: Record<string, ModuleDef> = {
  file,
  apt: fake(
    'apt',
    z
      .object({
        name: z.union([z.string(), z.array(z.string())]),
        state: z.enum(['present', 'absent', 'latest']).default('present'),
        update_cache: z.boolean().optional(),
      })
      .strict(),
  ),
  command: fake('command', z.object({ cmd: z.string().min(1), creates: z.string().optional() }).strict()),
  service: fake('service', z.object({ name: z.string(), state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional(), enabled: z.boolean().optional() }).strict()),
  listen_port: fake('listen_port', z.object({ port: z.number().int().min(1).max(65535) }).strict()),
};

export const roles: Record<string, RoleDef> = {
  docker: defineRole({
    name: 'docker',
    summary: 'fake docker',
    vars: z.object({ docker_source: z.enum(['vendor', 'distro']).default('vendor'), docker_users: z.array(z.string()).default([]) }),
    tasks: (v) => [{ name: 'docker packages', module: 'apt', args: { name: v.docker_source === 'vendor' ? 'docker-ce' : 'docker.io' }, notify: ['restart docker'] }],
    handlers: () => [{ name: 'restart docker', module: 'service', args: { name: 'docker', state: 'restarted' } }],
  }),
  firewall: defineRole({
    name: 'firewall',
    summary: 'fake firewall',
    vars: z.object({ firewall_allow: z.array(z.number()).default([22]) }),
    tasks: () => [],
  }),
};
