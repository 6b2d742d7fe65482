import { z } from 'zod';
import { defineRole } from '../../src/playbook/role.js';

const vars = z.object({
  deploy_user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'a user name: lower case letters, digits, _ and -').default('deploy'),
  deploy_authorized_keys: z
    .array(z.string().regex(/^(ssh-|ecdsa-|sk-)/, 'a public key line, e.g. "ssh-ed25519 AAAA... you@laptop"'))
    .min(1, 'deploy_authorized_keys needs at least one public key, or nobody can log in as the deploy user'),
  deploy_sudo: z.enum(['nopasswd', 'password', 'none']).default('nopasswd'),
  /** a crypt(3) hash (mkpasswd -m sha-512), needed for deploy_sudo: password */
  deploy_password_hash: z.string().optional(),
  deploy_shell: z.string().default('/bin/bash'),
})
  // sudo asks for the user's own password, and a user created without one has none to give
  .refine((v) => v.deploy_sudo !== 'password' || v.deploy_password_hash !== undefined, {
    message: 'deploy_sudo: password needs deploy_password_hash (a crypt hash, e.g. from `mkpasswd -m sha-512`): without it sudo can never succeed',
    path: ['deploy_password_hash'],
  });

export default defineRole({
  name: 'deploy_user',
  summary: 'An unprivileged login user with your SSH keys and sudo through a validated sudoers drop-in',
  vars,
  tasks: (v) => {
    const sudoers = `/etc/sudoers.d/90-shipshape-${v.deploy_user}`;
    const rule = v.deploy_sudo === 'nopasswd' ? 'NOPASSWD: ALL' : 'ALL';
    return [
      {
        name: `user ${v.deploy_user}`,
        module: 'user',
        args: {
          name: v.deploy_user,
          shell: v.deploy_shell,
          create_home: true,
          ...(v.deploy_password_hash ? { password: v.deploy_password_hash } : {}),
        },
      },
      {
        name: `authorized keys of ${v.deploy_user}`,
        module: 'authorized_key',
        args: { user: v.deploy_user, key: v.deploy_authorized_keys.join('\n'), exclusive: true },
      },
      v.deploy_sudo === 'none'
        ? { name: `no sudo for ${v.deploy_user}`, module: 'file', args: { path: sudoers, state: 'absent' } }
        : {
            name: `sudo for ${v.deploy_user}`,
            module: 'copy',
            args: {
              dest: sudoers,
              // sudo ignores drop-ins that are group/world writable; 0440 is what visudo creates
              mode: '0440',
              owner: 'root',
              group: 'root',
              content: `# managed by shipshape (deploy_user role)\n${v.deploy_user} ALL=(ALL:ALL) ${rule}\n`,
              validate: 'visudo -cf %s',
            },
          },
      {
        // a second sudoers file or a line in /etc/sudoers can hand out root without a password
        name: 'no passwordless sudo besides the declared',
        module: 'sudo_policy',
        args: { user: v.deploy_user, sudo: v.deploy_sudo, managed: [sudoers] },
      },
    ];
  },
});
