import { describe, expect, it } from 'vitest';
import { builtinRolesDir, loadRoles } from '../../../src/playbook/index.js';
import { baseAnswers } from '../../../src/wizard/answers.js';
import { backupStep } from '../../../src/wizard/flow.js';
import type { Ui } from '../../../src/wizard/ui.js';

const roles = await loadRoles([builtinRolesDir()]);

/** A person at the terminal: each prompt takes the next scripted answer its validation accepts; refusals are kept. */
function scripted(inputs: string[], passwords: string[]) {
  const refused: string[] = [];
  const ui: Ui = {
    input: async (o) => {
      for (;;) {
        const v = inputs.shift();
        if (v === undefined) throw new Error(`no answer left for: ${o.message}`);
        const ok = o.validate ? o.validate(v) : true;
        if (ok === true) return v;
        refused.push(ok);
      }
    },
    confirm: async (o) => o.default,
    select: async () => {
      throw new Error('no select expected');
    },
    checkbox: async () => [],
    password: async () => passwords.shift() ?? '',
  };
  return { ui, refused };
}

describe('wizard: the backup questions', () => {
  it('asks again for an empty repository and an empty password: the backup role refuses a backup that stays on the server', async () => {
    const { ui, refused } = scripted(['/srv/app', '', 'sftp:backup@203.0.113.50:/srv/restic/web1'], ['', 'r3stic-pw']);
    const said: string[] = [];
    const a = baseAnswers({ host: '203.0.113.10', backup: true });
    await backupStep({ dir: '.', answers: a, ui, roles, acceptNewHostKeys: false, say: (t) => said.push(t) }, a);
    expect(a).toMatchObject({ backup_paths: ['/srv/app'], backup_restic_repository: 'sftp:backup@203.0.113.50:/srv/restic/web1', backup_restic_password: 'r3stic-pw' });
    expect(refused).toEqual(['needed: the backup role sends every backup off-site (a copy that stays on the server is not a backup)']);
    expect(said).toEqual(['  needed: without it the backups cannot be written or read. Please answer again.']);
    // what the wizard settled, the role takes: its tasks are planned, not refused
    expect(() => roles.backup.tasks({ ...roles.backup.vars.parse({ backup_paths: a.backup_paths, backup_restic_repository: a.backup_restic_repository, backup_restic_password: a.backup_restic_password }) })).not.toThrow();
  });
});
