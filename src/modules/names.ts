/**
 * Other names a task may give a module, with Ansible's meaning: the fully qualified names of the
 * collections Debian's `ansible` package ships (`community.general.ufw`), and Ansible's synonyms
 * (`systemd` and `systemd_service` are `service` with systemd, the only init system on Debian).
 * `ansible.builtin.NAME` and `ansible.legacy.NAME` resolve to NAME without being listed.
 */
export const MODULE_NAMES: Record<string, string> = {
  systemd: 'service',
  systemd_service: 'service',
  'ansible.posix.authorized_key': 'authorized_key',
  'ansible.posix.sysctl': 'sysctl',
  'community.general.ufw': 'ufw',
  'community.general.timezone': 'timezone',
};
