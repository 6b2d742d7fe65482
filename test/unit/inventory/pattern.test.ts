import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { loadInventory, selectHosts, type Inventory } from '../../../src/inventory/index.js';

let inv: Inventory;
beforeAll(async () => {
  inv = await loadInventory(join(import.meta.dirname, '../../fixtures/inventory/basic'), { sshConfig: false, localUser: 'op' });
});

describe('selectHosts', () => {
  // hosts in inventory order: bastion, web1, web2, db1, web3
  it.each([
    ['all', ['bastion', 'web1', 'web2', 'db1', 'web3']],
    ['*', ['bastion', 'web1', 'web2', 'db1', 'web3']],
    ['web1', ['web1']],
    ['prod', ['web1', 'web2', 'db1']], // through child groups
    ['ungrouped', ['bastion']],
    ['db1,web1', ['web1', 'db1']], // inventory order, not pattern order
    ['web*', ['web1', 'web2', 'web3']], // globs match group and host names
    ['w?b3', ['web3']],
    ['prod:!db', ['web1', 'web2']], // colon lists, exclusion
    ['!web1,prod', ['web2', 'db1']], // exclusions apply after unions wherever written
    ['app,&monitoring', ['web2', 'web3']],
    ['prod,&app', ['web2']],
    ['&web', ['web1', 'web2']], // only & / ! terms start from all
    ['!prod', ['bastion', 'web3']],
    ['~web[12]', ['web1', 'web2']],
    ['nothing*', []],
    [' web1 , web3 ', ['web1', 'web3']],
  ])('%s', (pattern, expected) => {
    expect(selectHosts(inv, pattern)).toEqual(expected);
  });

  it('names an unknown host or group with the nearest one, positioned in the pattern', () => {
    let err: unknown;
    try {
      selectHosts(inv, 'web1,!dbb', { file: 'site.yml', line: 3, column: 10 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const e = err as InputError;
    expect([e.location, e.message, e.hint]).toEqual(['site.yml:3:16', '`dbb` is neither a host nor a group in the inventory', 'did you mean `db`?']);
  });

  it('reports every unknown name of --limit at once', () => {
    try {
      selectHosts(inv, 'wbe1:prd', { file: '--limit' });
      expect.unreachable();
    } catch (e) {
      const x = e as InputError;
      expect(x.format()).toBe(
        ['--limit: `wbe1` is neither a host nor a group in the inventory', '  did you mean `web1`?', '', '--limit: `prd` is neither a host nor a group in the inventory', '  did you mean `prod`?'].join('\n'),
      );
    }
  });
});
