import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { loadInventory } from '../../../src/inventory/index.js';
import { resolveSshConfig } from '../../../src/transport/ssh-config.js';

const fixtures = join(import.meta.dirname, '../../fixtures/inventory');
const basic = join(fixtures, 'basic');
const opts = { sshConfig: false as const, home: '/home/op', localUser: 'op' };

async function inputError(path: string): Promise<InputError> {
  try {
    await loadInventory(path, opts);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error(`${path} loaded without an error`);
}

/** [location, message, hint] of the headline error and every other one */
function problems(e: InputError): [string, string, string | undefined][] {
  return [e, ...e.others].map((x) => [x.location, x.message, x.hint]);
}

describe('loadInventory: structure', () => {
  it('accepts a directory holding hosts.yml and lists hosts in inventory order, ranges expanded', async () => {
    const inv = await loadInventory(basic, opts);
    expect(inv.path).toBe(join(basic, 'hosts.yml'));
    expect([...inv.hosts.keys()]).toEqual(['bastion', 'web1', 'web2', 'db1', 'web3']);
  });

  it('puts hosts listed only under all into the implicit ungrouped group, and knows nesting', async () => {
    const inv = await loadInventory(basic, opts);
    expect(inv.groups.get('ungrouped')!.hosts).toEqual(['bastion']);
    expect(inv.groups.get('prod')!.children).toEqual(['web', 'db']);
    expect(inv.groups.get('web')!.parents).toEqual(['prod']);
    expect(inv.groups.get('web')!.depth).toBe(2);
    // a host in several groups, listed in variable-merge order: depth, then name
    expect(inv.hosts.get('web2')!.groups).toEqual(['all', 'app', 'monitoring', 'prod', 'web']);
  });

  it('refuses a directory without hosts.yml and without any file Ansible would read as an inventory (README.md is not one)', async () => {
    const e = await inputError(join(fixtures, 'nofile'));
    expect(e.message).toBe('no hosts.yml and no inventory file in this directory');
  });

  it('names the INI file it skipped for its name when nothing else is left (the warning itself is never printed then)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-inv-ini-'));
    writeFileSync(join(dir, 'hosts.ini'), '[web]\nweb1 ansible_host=203.0.113.10\n');
    const e = await inputError(dir);
    expect(e.message).toBe('no hosts.yml and no inventory file in this directory');
    expect(e.hint).toBe(`${join(dir, 'hosts.ini')}: not read, as Ansible skips \`.ini\` files in an inventory folder; pass it with -i ${join(dir, 'hosts.ini')}, or name it without the extension`);
  });
});

describe('loadInventory: variable precedence', () => {
  // every layer of the fixture sets `layer`; the winner tells which layer is highest
  it.each([
    ['bastion', 'all-file'], // group_vars/all beats all.vars
    ['db1', 'db-inline'], // child group (db) beats parent group_vars/prod
    ['web3', 'monitoring-file'], // siblings at one depth: alphabetical, later wins (monitoring > app)
    ['web2', 'web-file'], // deeper group (web, depth 2) beats shallower ones whatever their names
    ['web1', 'web1-file'], // host_vars/NAME beats inventory host vars beats groups
  ])('%s gets layer=%s', async (host, layer) => {
    const inv = await loadInventory(basic, opts);
    expect(inv.hosts.get(host)!.vars.layer).toBe(layer);
  });

  it('merges lower layers key by key, replacing dicts whole (hash_behaviour=replace)', async () => {
    const web1 = (await loadInventory(basic, opts)).hosts.get('web1')!;
    expect(web1.vars).toEqual({
      layer: 'web1-file',
      from_all_inline: true, // YAML 1.1 as Ansible reads it: `yes` is a boolean
      from_all_file: true,
      shared_dict: { c: 3 },
      from_prod_dir: 'second', // group_vars/prod/*.yml merge in file-name order
      from_web_file: true,
    });
  });

  it('keeps connection keys out of the variables', async () => {
    const inv = await loadInventory(basic, opts);
    for (const h of inv.hosts.values()) {
      for (const k of ['host', 'port', 'user', 'ansible_user', 'become_password', 'connection', 'identity_file']) expect(h.vars).not.toHaveProperty(k);
    }
  });
});

describe('loadInventory: connection specs', () => {
  it('reads shipshape keys and Ansible aliases, with ssh-like defaults', async () => {
    const inv = await loadInventory(basic, opts);
    const knownHosts = [join(basic, 'known_hosts')];
    expect({ ...inv.hosts.get('bastion')!.connection }).toEqual({
      name: 'bastion',
      host: '203.0.113.9',
      port: 22,
      user: 'admin',
      identityFile: join(basic, 'keys/bastion'), // relative to the inventory's directory
      identitiesOnly: true, // a key named in the inventory is the only one offered
      knownHostsFiles: knownHosts,
      acceptNewHostKeys: false,
      connectTimeoutMs: 10000,
      kind: 'ssh',
    });
    const web2 = inv.hosts.get('web2')!.connection;
    expect([web2.host, web2.port, web2.user, web2.identityFile]).toEqual(['web2', 2200, 'deploy', '/home/op/.ssh/web2']);
    const web1 = inv.hosts.get('web1')!.connection;
    expect([web1.host, web1.port, web1.user, web1.becomePassword]).toEqual(['10.0.0.1', 2222, 'deploy', 's3cret-web1']);
    const db1 = inv.hosts.get('db1')!.connection;
    expect([db1.kind, db1.user]).toEqual(['local', 'op']);
  });

  it('applies ~/.ssh/config under the inventory values and over the defaults', async () => {
    const dir = join(fixtures, 'ssh');
    const text = readFileSync(join(dir, 'ssh_config'), 'utf8');
    const inv = await loadInventory(dir, { ...opts, sshConfig: (alias) => resolveSshConfig(alias, text, { home: '/home/op' }) });
    const spec = (h: string) => {
      const c = inv.hosts.get(h)!.connection;
      return [c.host, c.port, c.user];
    };
    expect(spec('web1')).toEqual(['web1.example.com', 2022, 'inventory-user']);
    expect(spec('web3')).toEqual(['web3.example.com', 2022, 'config-user']);
    // the inventory `host` is what ssh would be given, so the config is looked up under it
    expect(spec('web2')).toEqual(['192.0.2.2', 22, 'admin']);
    // IdentityFile from the config is used only when the file exists
    expect(inv.hosts.get('web1')!.connection.identityFile).toBeUndefined();
  });

  it('renders templated connection values with the host variables', async () => {
    const inv = await loadInventory(join(fixtures, 'templated'), opts);
    const c = inv.hosts.get('web1')!.connection;
    expect([c.host, c.user, c.becomePassword]).toEqual(['10.1.2.3', 'deploy', 's3cret']);
  });

  it('reports a templated value that cannot be rendered or is invalid once rendered', async () => {
    const file = join(fixtures, 'errors/templated.yml');
    expect(problems(await inputError(file))).toEqual([
      [`${file}:4:13`, '`host`: undefined variable `web2_ip` in `{{ web2_ip }}`', undefined],
      [`${file}:5:13`, '`port` must be an integer from 1 to 65535', undefined],
    ]);
  });
});

describe('loadInventory: YAML merge keys', () => {
  it('expands `<<: *anchor` into connection keys and variables, written keys winning', async () => {
    const inv = await loadInventory(join(fixtures, 'anchors.yml'), opts);
    const web1 = inv.hosts.get('web1')!;
    expect([web1.connection.user, web1.connection.port, web1.vars]).toEqual(['deploy', 2200, { role_name: 'web' }]);
  });
});

describe('loadInventory: secrets', () => {
  it('never shows become_password in JSON or inspect output, and redacts secret-looking variables', async () => {
    const inv = await loadInventory(basic, opts);
    const spec = inv.hosts.get('web1')!.connection;
    expect(spec.becomePassword).toBe('s3cret-web1');
    expect(JSON.stringify(inv)).not.toContain('s3cret-web1');
    expect(JSON.stringify(inv)).toContain('"becomePassword":"<redacted>"');
    expect(JSON.stringify(spec)).not.toContain('s3cret-web1');
    expect(inspect(spec)).not.toContain('s3cret-web1');
    expect(inspect(inv, { depth: 10 })).not.toContain('s3cret-web1');
  });

  it('redacts secret-looking variables and any copy of a become password in JSON', async () => {
    const inv = await loadInventory(join(fixtures, 'templated'), opts);
    const json = JSON.stringify(inv);
    expect(json).not.toContain('s3cret');
    expect(json).not.toContain('hunter2');
    expect(json).toContain('"db_password":"<redacted>"');
    expect(json).toContain('"nested":{"pw_copy":"<redacted>"}');
    // the loaded values themselves are intact for the engine
    expect(inv.hosts.get('web1')!.vars.db_password).toBe('hunter2');
  });

  it('masks secret values in code frames, keeping the caret on the right column', async () => {
    const e = await inputError(join(fixtures, 'errors/secret.yml'));
    const text = e.format();
    expect(text).not.toContain('1234');
    expect(text).not.toContain('hunter');
    const file = join(fixtures, 'errors/secret.yml');
    expect(problems(e)).toEqual([
      [`${file}:3:29`, '`become_password` must be a quoted string', 'write it in quotes'],
      [`${file}:3:56`, '`connection` must be `ssh` or `local`', 'did you mean `ssh`?'],
      [`${file}:6:7`, '`become_password` and `ansible_become_pass` both set `become_password`; keep one', undefined],
    ]);
    expect(e.others[0].format()).toBe(
      [
        `${file}:3:56: \`connection\` must be \`ssh\` or \`local\``,
        '  3 |     web1: {become_password: <redacted>, prt: 22, connection: sssh}',
        '    |                                                              ^ did you mean `ssh`?',
      ].join('\n'),
    );
  });
});

describe('loadInventory: warnings', () => {
  it('warns about vars files for unknown hosts/groups and near-miss connection keys', async () => {
    const inv = await loadInventory(basic, opts);
    expect(inv.warnings.map((w) => [w.location, w.message, w.hint])).toEqual([
      [join(basic, 'group_vars/webz.yml'), 'group_vars for `webz`, which is not a group in the inventory; ignored', 'did you mean `web`?'],
      [join(basic, 'host_vars/ghost.yml'), 'host_vars for `ghost`, which is not a host in the inventory; ignored', undefined],
    ]);
    const w = await loadInventory(join(fixtures, 'warn'), opts);
    const file = join(fixtures, 'warn/hosts.yml');
    expect(w.warnings.map((x) => [x.location, x.message, x.hint])).toEqual([
      [`${file}:4:7`, '`identiy_file` is not a connection setting and is kept as a variable', 'did you mean `identity_file`?'],
      [`${file}:6:7`, '`ansible_ssh_private_key` is not a connection setting and is kept as a variable', 'did you mean `ansible_ssh_private_key_file`?'],
    ]);
  });
});

describe('loadInventory: errors carry file:line:column', () => {
  const f = (name: string) => join(fixtures, 'errors', name);

  it('an unknown key under a group, with the nearest valid one', async () => {
    const e = await inputError(f('hostz.yml'));
    expect(problems(e)).toEqual([[`${f('hostz.yml')}:4:7`, 'unknown key `hostz` in group `web`', 'did you mean `hosts`?']]);
    expect(e.format()).toBe(
      [`${f('hostz.yml')}:4:7: unknown key \`hostz\` in group \`web\``, '  4 |       hostz:', '    |       ^ did you mean `hosts`?'].join('\n'),
    );
  });

  it('`childrens:`', async () => {
    const e = await inputError(f('childrens.yml'));
    expect(problems(e)).toEqual([[`${f('childrens.yml')}:2:3`, 'unknown key `childrens` in group `all`', 'did you mean `children`?']]);
  });

  it('a port that is not a number, or out of range', async () => {
    const e = await inputError(f('bad-port.yml'));
    expect(problems(e)).toEqual([
      [`${f('bad-port.yml')}:4:13`, '`port` must be an integer from 1 to 65535', undefined],
      [`${f('bad-port.yml')}:6:21`, '`ansible_port` must be an integer from 1 to 65535', undefined],
    ]);
  });

  it('malformed YAML', async () => {
    const e = await inputError(f('malformed.yml'));
    expect(problems(e)).toEqual([
      [`${f('malformed.yml')}:5:5`, 'invalid YAML: flow sequence in block collection must be sufficiently indented and end with a ]', undefined],
    ]);
  });

  it('wrong shapes and types, all reported at once', async () => {
    const e = await inputError(f('types.yml'));
    expect(problems(e)).toEqual([
      [`${f('types.yml')}:4:15`, '`become` must be true or false', undefined],
      [`${f('types.yml')}:5:13`, '`user` must be a non-empty string', undefined],
      [`${f('types.yml')}:6:22`, '`identity_file` must be a non-empty string', undefined],
      [`${f('types.yml')}:7:11`, 'host `web2` must map to its variables or be empty, not a string', undefined],
      [`${f('types.yml')}:10:14`, '`hosts` of group `db` must be a mapping of host names (each `name:` on its own line)', undefined],
      [`${f('types.yml')}:12:7`, 'unknown key `ansible_user` in group `cache`', 'a group has `hosts`, `children` and `vars`; variables go under `vars:`'],
    ]);
  });

  it('an INI inventory is read as Ansible reads it (whatever its file name)', async () => {
    const inv = await loadInventory(f('ini.yml'));
    expect([...inv.hosts.keys()]).toEqual(['web1', 'db1']);
    expect(inv.hosts.get('web1')!.connection.host).toBe('10.0.0.1');
    expect(inv.groups.get('db')!.hosts).toEqual(['db1']);
  });

  it('an empty inventory has no hosts (not an error)', async () => {
    expect((await loadInventory(f('empty.yml'), opts)).hosts.size).toBe(0);
  });

  it('password login keys are refused, not silently ignored', async () => {
    const e = await inputError(f('password.yml'));
    expect(problems(e)).toEqual([[`${f('password.yml')}:9:7`, '`ansible_ssh_pass` is not supported', 'password login over SSH is not supported; use identity_file or ssh-agent']]);
    expect(e.format()).not.toContain('hunter2');
  });

  it('groups that contain each other', async () => {
    const e = await inputError(f('cycle.yml'));
    expect(problems(e)).toEqual([[`${f('cycle.yml')}:3:5`, 'groups contain each other: a -> b -> a', undefined]]);
  });
});
