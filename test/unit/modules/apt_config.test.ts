import { describe, expect, it } from 'vitest';
import { parseAptConfig, readOrder } from '../../../src/facts/apt_config.js';
import { planFor } from '../helpers/plan.js';

const AUTO = '/etc/apt/apt.conf.d/20auto-upgrades';
const files = { [AUTO]: { 'APT::Periodic::Unattended-Upgrade': '1', 'APT::Periodic::Update-Package-Lists': '1' } };
const ours = `// managed by shipshape (unattended_upgrades role)\nAPT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\nAPT::Periodic::AutocleanInterval "7";`;

// what the probe prints on a Debian 12 host after `echo 'APT::Periodic::Unattended-Upgrade "0";' > /etc/apt/apt.conf.d/99-local`
const probeOut = `APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "0";
==files==
==> ${AUTO}
${ours}

==> /etc/apt/apt.conf.d/99-local
// a colleague, while debugging
APT::Periodic::Unattended-Upgrade "0";

`;

describe('apt_config', () => {
  it('reads apt-config dump and the files that mention the keys', () => {
    const f = parseAptConfig(probeOut);
    expect(f.dump).toEqual({ 'APT::Periodic::Update-Package-Lists': '1', 'APT::Periodic::Unattended-Upgrade': '0' });
    expect(f.files.map((x) => x.path)).toEqual([AUTO, '/etc/apt/apt.conf.d/99-local']);
  });

  it('reads apt.conf.d in name order, apt.conf last, skipping backups', () => {
    expect(readOrder(['/etc/apt/apt.conf', '/etc/apt/apt.conf.d/99-local', AUTO, '/etc/apt/apt.conf.d/99-local.dpkg-old'])).toEqual([AUTO, '/etc/apt/apt.conf.d/99-local', '/etc/apt/apt.conf']);
  });

  it('a later file switching unattended upgrades off is drift, commented out at its line', () => {
    const p = planFor('apt_config', { files }, { apt: parseAptConfig(probeOut) });
    expect(p.drift).toEqual([
      {
        what: `APT::Periodic::Unattended-Upgrade is "0" (apt-config dump confirms), not "1" as ${AUTO} declares`,
        why: 'unattended-upgrades never runs: security updates stop being installed',
        where: '/etc/apt/apt.conf.d/99-local:2',
        fix: 'comment out line 2 of /etc/apt/apt.conf.d/99-local (apply does it, checked with apt-config)',
      },
    ]);
    expect(p.steps).toEqual([
      {
        kind: 'write',
        path: '/etc/apt/apt.conf.d/99-local',
        content: '// a colleague, while debugging\n// disabled by shipshape (it overrode a declared setting): APT::Periodic::Unattended-Upgrade "0";\n',
        validate: 'apt-config -c %s dump',
      },
    ]);
  });

  it('an earlier file, or a later one with the same value, is no drift', () => {
    const early = probeOut.replaceAll('99-local', '10-local');
    expect(planFor('apt_config', { files }, { apt: parseAptConfig(early) }).steps).toEqual([]);
    const same = probeOut.replace('Unattended-Upgrade "0";\n\n', 'Unattended-Upgrade "1";\n\n');
    expect(planFor('apt_config', { files }, { apt: parseAptConfig(same) }).steps).toEqual([]);
  });
});
