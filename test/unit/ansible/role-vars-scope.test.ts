/**
 * An Ansible role folder's defaults/ and vars/ are the play's once the play names the role (Ansible's default
 * `private_role_vars: false`). Every expectation below is what ansible-playbook 2.14 printed for the same files
 * (debug msg in order, connection local): `roles:` entries and import_role from the play's start (pre_tasks
 * included, even when the role is skipped), include_role only with `public: true` and only after it; role vars over
 * inventory and play vars, below block and task vars and set_fact; defaults below everything; a role's own values
 * win inside it, the last role's outside; never into the next play. (A set_fact value reaches the next play in
 * Ansible, host-scoped; that is not part of this file.)
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import type { PlayInstance } from '../../../src/engine/types.js';
import { expand } from './helpers.js';

const ROLES: Record<string, string> = {
  "roles/r1/tasks/main.yml": "- debug: msg=\"r1 sees rv={{ rv }} shared={{ shared }}\"\n",
  "roles/r1/vars/main.yml": "rv: r1_vars\nshared: r1_vars\nover_play: r1_vars\nover_inv: r1_vars\nover_task: r1_vars\nover_fact: r1_vars\n",
  "roles/r1/defaults/main.yml": "rd: r1_defaults\ndef_vs_play: r1_defaults\ndef_vs_inv: r1_defaults\n",
  "roles/r2/tasks/main.yml": "- debug: msg=\"r2 sees rv={{ rv }} rd={{ rd }} shared={{ shared }}\"\n",
  "roles/r2/vars/main.yml": "shared: r2_vars\n",
  "roles/r3/tasks/main.yml": "- debug: msg=\"r3 ran\"\n",
  "roles/r3/vars/main.yml": "r3v: r3_vars\n",
  "roles/r3/defaults/main.yml": "r3d: r3_defaults\n",
  "roles/r4/tasks/main.yml": "- debug: msg=\"r4 ran\"\n",
  "roles/r4/vars/main.yml": "r4v: r4_vars\n",
  "roles/r4/defaults/main.yml": "r4d: r4_defaults\n",
};
const HOSTS = 'all:\n  hosts:\n    web1: { ansible_host: 10.0.0.1, over_inv: inventory, def_vs_inv: inventory }\n';
const msgs = (plays: PlayInstance[]) => plays.flatMap((p) => p.tasks.map((t) => (t.args as { msg?: string } | undefined)?.msg).filter((m) => m !== undefined));
const run = async (playbook: string) => msgs((await expand({ 'hosts.yml': HOSTS, ...ROLES, 'site.yml': playbook })).plays);

describe("role vars/ and defaults/ in the play's scope, as ansible-playbook 2.14 shows them", () => {
  it("roles: and import_role from the start, include_role public after it; precedence against inventory, play, task vars and set_fact; not in the next play", async () => {
    expect(await run("- hosts: all\n  gather_facts: false\n  vars:\n    over_play: play\n    def_vs_play: play\n  pre_tasks:\n    - debug: msg=\"pre_tasks rv={{ rv | default('UNDEF') }} rd={{ rd | default('UNDEF') }}\"\n  roles:\n    - r1\n    - r2\n  tasks:\n    - debug: msg=\"tasks rv={{ rv }} rd={{ rd }} shared={{ shared }} over_play={{ over_play }} over_inv={{ over_inv }} def_vs_play={{ def_vs_play }} def_vs_inv={{ def_vs_inv }}\"\n    - debug: msg=\"task vars over_task={{ over_task }}\"\n      vars: { over_task: task }\n    - set_fact: { over_fact: fact }\n    - debug: msg=\"after set_fact over_fact={{ over_fact }}\"\n    - debug: msg=\"before r3 include r3v={{ r3v | default('UNDEF') }} r4v={{ r4v | default('UNDEF') }} r4d={{ r4d | default('UNDEF') }}\"\n    - include_role: { name: r3 }\n    - debug: msg=\"after private include r3v={{ r3v | default('UNDEF') }} r3d={{ r3d | default('UNDEF') }}\"\n    - include_role: { name: r3, public: true }\n    - debug: msg=\"after public include r3v={{ r3v | default('UNDEF') }} r3d={{ r3d | default('UNDEF') }}\"\n    - import_role: { name: r4 }\n    - debug: msg=\"after import r4v={{ r4v | default('UNDEF') }} r4d={{ r4d | default('UNDEF') }}\"\n- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=\"next play rv={{ rv | default('UNDEF') }}\"\n")).toEqual([
      "pre_tasks rv=r1_vars rd=r1_defaults",
      "r1 sees rv=r1_vars shared=r1_vars",
      "r2 sees rv=r1_vars rd=r1_defaults shared=r2_vars",
      "tasks rv=r1_vars rd=r1_defaults shared=r2_vars over_play=r1_vars over_inv=r1_vars def_vs_play=play def_vs_inv=inventory",
      "task vars over_task=task",
      "after set_fact over_fact=fact",
      "before r3 include r3v=UNDEF r4v=r4_vars r4d=r4_defaults",
      "r3 ran",
      "after private include r3v=UNDEF r3d=UNDEF",
      "r3 ran",
      "after public include r3v=r3_vars r3d=r3_defaults",
      "r4 ran",
      "after import r4v=r4_vars r4d=r4_defaults",
      "next play rv=UNDEF",
    ]);
  });

  it("a skipped `roles:` entry still exposes its vars; block vars win; a skipped public include exposes nothing", async () => {
    expect(await run("- hosts: all\n  gather_facts: false\n  pre_tasks:\n    - debug: msg=\"pre shared={{ shared }} r3v={{ r3v | default('UNDEF') }}\"\n  roles:\n    - r1\n    - r2\n    - { role: r3, when: false }\n  tasks:\n    - debug: msg=\"tasks shared={{ shared }} r3v={{ r3v | default('UNDEF') }}\"\n    - block:\n        - debug: msg=\"block shared={{ shared }}\"\n      vars: { shared: block }\n    - include_role: { name: r4, public: true }\n      when: false\n    - debug: msg=\"after skipped public include r4v={{ r4v | default('UNDEF') }}\"\n")).toEqual([
      "pre shared=r2_vars r3v=r3_vars",
      "r1 sees rv=r1_vars shared=r1_vars",
      "r2 sees rv=r1_vars rd=r1_defaults shared=r2_vars",
      "tasks shared=r2_vars r3v=r3_vars",
      "block shared=block",
      "after skipped public include r4v=UNDEF",
    ]);
  });

  it("a skipped import_role still exposes; vars on a public include_role are its own, the role's vars stay after it", async () => {
    expect(await run("- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=\"before import r4v={{ r4v | default('UNDEF') }}\"\n    - import_role: { name: r4 }\n      when: false\n    - debug: msg=\"after skipped import r4v={{ r4v | default('UNDEF') }}\"\n    - include_role: { name: r1, public: true }\n      vars: { rv: includevars }\n    - debug: msg=\"after include with vars rv={{ rv }}\"\n")).toEqual([
      "before import r4v=r4_vars",
      "after skipped import r4v=r4_vars",
      "r1 sees rv=includevars shared=r1_vars",
      "after include with vars rv=r1_vars",
    ]);
  });

  it("a role that uses another role's variable is still an error when that role is not in the play (Ansible: undefined)", async () => {
    const e = await run('- hosts: all\n  gather_facts: false\n  roles: [r2]\n').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(/undefined variable `rv`/);
  });

  it('import_role has no `public` (ansible 2.14: "Invalid options for import_role: public"); include_role public must be a boolean', async () => {
    await expect(run('- hosts: all\n  tasks:\n    - import_role: { name: r4, public: false }\n')).rejects.toThrow(/`public` is not supported/);
    await expect(run('- hosts: all\n  tasks:\n    - include_role: { name: r4, public: maybe }\n')).rejects.toThrow(InputError);
  });
});
