import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExtraVars, splitExtraVars } from '../../../src/cli/extra-vars.js';
import { InputError } from '../../../src/core/input-error.js';
import { loadInventory } from '../../../src/inventory/index.js';

const basic = join(import.meta.dirname, '../../fixtures/inventory/basic');
async function load(e: string[]) {
  const extra = splitExtraVars(parseExtraVars(e));
  const inv = await loadInventory(basic, { sshConfig: false, localUser: 'op', extraConnection: extra.conn });
  return { inv, vars: extra.vars };
}

describe('connection keys given with -e', () => {
  it('win over every inventory layer, under either name, and leave the variables', async () => {
    const { inv, vars } = await load(['ansible_user=admin2', 'port=2200', 'app=1']);
    expect(vars).toEqual({ app: 1 });
    for (const h of ['web1', 'web2', 'bastion']) {
      expect(inv.hosts.get(h)!.connection.user).toBe('admin2');
      expect(inv.hosts.get(h)!.connection.port).toBe(2200);
    }
  });

  it('are checked like inventory values, pointing at --extra-vars, the secret masked', async () => {
    const err = await load(['port=http', 'become_password="a\\nb"']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const text = (err as InputError).format();
    expect(text).toMatch(/--extra-vars:1:\d+: `port` must be an integer/);
    expect(text).toMatch(/--extra-vars:2:\d+: `become_password` must not contain a line break/);
    expect(text).not.toContain('a\\nb');
  });

  it('password logins are refused there too', async () => {
    const err = await load(['ansible_password=x']).catch((e: unknown) => e);
    expect((err as InputError).format()).toMatch(/`ansible_password` is not supported/);
  });
});
