import { z } from 'zod';
import { defineRole } from '../../src/playbook/role.js';

const vars = z.object({
  unattended_reboot: z.boolean().default(false),
  unattended_reboot_time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like "04:00"').default('04:00'),
  unattended_mail: z.string().optional(),
});

// Origins-Pattern works on both Debian (security label) and Ubuntu (-security archive)
const ORIGINS = [
  'origin=Debian,codename=${distro_codename},label=Debian-Security',
  'origin=Debian,codename=${distro_codename}-security,label=Debian-Security',
  'origin=Ubuntu,archive=${distro_codename}-security,label=Ubuntu',
];

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
        dest: '/etc/apt/apt.conf.d/20auto-upgrades',
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
        dest: '/etc/apt/apt.conf.d/52shipshape-unattended-upgrades',
        mode: '0644',
        content: [
          '// managed by shipshape (unattended_upgrades role)',
          'Unattended-Upgrade::Origins-Pattern {',
          ...ORIGINS.map((o) => `        "${o}";`),
          '};',
          `Unattended-Upgrade::Automatic-Reboot "${v.unattended_reboot}";`,
          `Unattended-Upgrade::Automatic-Reboot-Time "${v.unattended_reboot_time}";`,
          'Unattended-Upgrade::Remove-Unused-Kernel-Packages "true";',
          ...(v.unattended_mail ? [`Unattended-Upgrade::Mail "${v.unattended_mail}";`] : []),
          '',
        ].join('\n'),
      },
    },
    { name: 'apt timers enabled', module: 'service', args: { name: 'apt-daily-upgrade.timer', state: 'started', enabled: true } },
  ],
});
