import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectSchemas } from '../../../src/cli/schema-command.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const yaml = (rel: string) => parse(readFileSync(join(ROOT, rel), 'utf8'));

describe('JSON Schemas for editors', async () => {
  const schemas = await projectSchemas(ROOT);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const check = (which: keyof typeof schemas, doc: unknown) => {
    const validate = ajv.compile(schemas[which]);
    return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };

  it('the example inventory, its group_vars and the site playbook are valid', () => {
    expect(check('inventory', yaml('inventory/hosts.yml'))).toEqual([]);
    expect(check('vars', yaml('inventory/group_vars/all.yml'))).toEqual([]);
    expect(check('playbook', yaml('playbooks/site.yml'))).toEqual([]);
  });

  it('a broken inventory fails: an unknown group key, a port that is not a number', () => {
    expect(check('inventory', { all: { hostz: { web1: null } } })).not.toEqual([]);
    expect(check('inventory', { all: { hosts: { web1: { port: 'twenty-two' } } } })).not.toEqual([]);
    // a template is a value known only at run time: allowed
    expect(check('inventory', { all: { hosts: { web1: { port: '{{ web_port }}' } } } })).toEqual([]);
  });

  it('a broken vars file fails: a role variable of the wrong type', () => {
    expect(check('vars', { deploy_sudo: 'sometimes' })).not.toEqual([]);
    expect(check('vars', { deploy_sudo: 'nopasswd', anything_else: [1, 2] })).toEqual([]);
  });

  it('a broken playbook fails: an unknown module, a wrong argument, an unknown role, a role variable of the wrong type', () => {
    const play = (extra: object) => [{ hosts: 'all', ...extra }];
    expect(check('playbook', play({ tasks: [{ name: 'x', aptt: { name: 'curl' } }] }))).not.toEqual([]);
    expect(check('playbook', play({ tasks: [{ name: 'x', apt: { name: 'curl', state: 'sideways' } }] }))).not.toEqual([]);
    expect(check('playbook', play({ roles: ['no_such_role'] }))).not.toEqual([]);
    expect(check('playbook', play({ roles: [{ role: 'ssh', vars: { ssh_port: 'high' } }] }))).not.toEqual([]);
    // and the same shapes done right pass, including Ansible's spellings
    expect(check('playbook', play({ tasks: [{ name: 'x', 'ansible.builtin.apt': { name: 'curl', state: 'present' } }] }))).toEqual([]);
    expect(check('playbook', play({ tasks: [{ name: 'x', apt: 'name=curl state=present' }] }))).toEqual([]);
    expect(check('playbook', play({ roles: [{ role: 'ssh', vars: { ssh_port: 2222 } }] }))).toEqual([]);
  });

  it('role-internal modules are not offered to playbooks', () => {
    expect(check('playbook', play0({ name: 'x', caddy_reload: {} }))).not.toEqual([]);
  });
});

function play0(task: object) {
  return [{ hosts: 'all', tasks: [task] }];
}
