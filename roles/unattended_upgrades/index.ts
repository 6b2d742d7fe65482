import { z } from 'zod';
import { defineRole } from '../../src/playbook/role.js';

const vars = z.object({
  unattended_reboot: z.boolean().default(false),
  unattended_reboot_time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like "04:00"').default('04:00'),
  unattended_mail: z.string().optional(),
});

/**
 * Security origins only, for Debian (the label of both the old and the -security suite naming) and
 * Ubuntu (including Ubuntu Pro's ESM security pockets, which match nothing on hosts without them).
 * `${distro_codename}` is expanded by unattended-upgrades itself.
 */
export const ORIGINS = [
  'origin=Debian,codename=${distro_codename},label=Debian-Security',
  'origin=Debian,codename=${distro_codename}-security,label=Debian-Security',
  'origin=Ubuntu,archive=${distro_codename}-security,label=Ubuntu',
  'origin=UbuntuESMApps,archive=${distro_codename}-apps-security',
  'origin=UbuntuESM,archive=${distro_codename}-infra-security',
];

type Vars = z.infer<typeof vars>;

export function policyFile(v: Vars): string {
  return [
    '// managed by shipshape (unattended_upgrades role)',
    // apt appends list options across files: without #clear, 50unattended-upgrades' origins would stay
    '#clear Unattended-Upgrade::Origins-Pattern;',
    'Unattended-Upgrade::Origins-Pattern {',
    ...ORIGINS.map((o) => `        "${o}";`),
    '};',
    `Unattended-Upgrade::Automatic-Reboot "${v.unattended_reboot}";`,
    `Unattended-Upgrade::Automatic-Reboot-Time "${v.unattended_reboot_time}";`,
    'Unattended-Upgrade::Remove-Unused-Kernel-Packages "true";',
    ...(v.unattended_mail ? [`Unattended-Upgrade::Mail "${v.unattended_mail}";`, 'Unattended-Upgrade::MailReport "only-on-error";'] : []),
    '',
  ].join('\n');
}

export const AUTO_UPGRADES = '/etc/apt/apt.conf.d/20auto-upgrades';
export const POLICY = '/etc/apt/apt.conf.d/52shipshape-unattended-upgrades';

export default defineRole({
  name: 'unattended_upgrades',
  summary: 'Security updates installed every day by unattended-upgrades, with an optional reboot window',
  vars,
  tasks: (v) => [
    { name: 'unattended-upgrades installed', module: 'apt', args: { name: ['unattended-upgrades'], cache_valid_time: 3600 } },
    {
      name: 'periodic update, upgrade and autoclean',
      module: 'copy',
      args: {
        dest: AUTO_UPGRADES,
        mode: '0644',
        content: [
          '// managed by shipshape (unattended_upgrades role)',
          'APT::Periodic::Update-Package-Lists "1";',
          'APT::Periodic::Unattended-Upgrade "1";',
          'APT::Periodic::AutocleanInterval "7";',
          '',
        ].join('\n'),
      },
    },
    {
      name: 'security origins and reboot policy',
      module: 'copy',
      args: {
        // sorts after Debian's 50unattended-upgrades, so these values win
        dest: POLICY,
        mode: '0644',
        content: policyFile(v),
        // apt-config parses every apt.conf.d file, ours at the temporary path included
        validate: 'apt-config -c %s dump',
      },
    },
    {
      // a later file (a colleague's 99-local) could switch it all off while our files stay as written
      name: 'no other APT file overrides these settings',
      module: 'apt_config',
      args: {
        files: {
          [AUTO_UPGRADES]: { 'APT::Periodic::Update-Package-Lists': '1', 'APT::Periodic::Unattended-Upgrade': '1' },
          [POLICY]: { 'Unattended-Upgrade::Automatic-Reboot': String(v.unattended_reboot), 'Unattended-Upgrade::Automatic-Reboot-Time': v.unattended_reboot_time },
        },
      },
    },
    // apt-daily refreshes the lists, apt-daily-upgrade runs unattended-upgrade: both are needed. masked: false
    // in every role's service task: a unit masked by hand is drift that apply undoes, not a failure
    { name: 'apt lists refreshed daily', module: 'service', args: { name: 'apt-daily.timer', state: 'started', enabled: true, masked: false } },
    { name: 'upgrades run daily', module: 'service', args: { name: 'apt-daily-upgrade.timer', state: 'started', enabled: true, masked: false } },
  ],
});
