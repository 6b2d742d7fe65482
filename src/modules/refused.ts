/**
 * Ansible modules shipshape does not run, known by name so a playbook using them is refused before
 * any host is contacted with the reason and what to write instead (not a bare "unknown module").
 */
import { z } from 'zod';
import { defineModule, type ModuleDef } from '../core/module.js';

function refused(name: string, why: string): ModuleDef {
  return defineModule({
    name,
    summary: `refused: ${why}`,
    schema: z.unknown().superRefine((_v, ctx) => ctx.addIssue({ code: 'custom', message: `is not supported: ${why}` })),
    facts: () => ({}),
    plan: () => ({ steps: [], reason: why, fail: why }),
  });
}

export const aptKey = refused(
  'apt_key',
  'apt-key is deprecated by Debian (keys in trusted.gpg.d are trusted for every repository); use apt_repository with key, key_src or signed_by, which writes the key to /etc/apt/keyrings and names it in Signed-By',
);

export const git = refused(
  'git',
  'git checkouts are not managed; build a release archive and use get_url + unarchive (remote_src: true), or `command: git clone URL DIR` with `creates: DIR/.git`',
);
