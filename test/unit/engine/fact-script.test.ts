/**
 * Issue 15: the site playbook's fact script for one host, as the engine renders it, starts a bounded number
 * of processes whatever the number of managed files, packages, units and kernel keys. The count here is an
 * upper bound read from the script's text (helpers/process-count.ts: both branches of every `if`); the e2e
 * test (fact-script.test.ts) measures the real number on lab hosts of both releases.
 */
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { renderBatch } from '../../../src/core/script.js';
import { dpkgPackages } from '../../../src/facts/apt.js';
import { fileContent, fileStat } from '../../../src/facts/file.js';
import { sysctlValue } from '../../../src/facts/sysctl.js';
import { unitState } from '../../../src/facts/systemd.js';
import { countProcesses } from '../helpers/process-count.js';
import { siteProbes } from '../helpers/site-probes.js';

const count = (probes: Probe[]) => countProcesses(renderBatch({ probes }, '0123456789abcdef'));

describe("the site playbook's fact script", () => {
  it('has a bounded process count, with one stat, sha256sum, systemctl show and dpkg-query for everything', async () => {
    const probes = await siteProbes();
    const { total, commands } = count(probes);
    // upper bound from the text: 97 before session 4's work (a base64 per sysctl.d file), 87 after it; 77 in
    // session 5 (one command per kind for the play, counted with `VAR=value cmd` prefixes now)
    expect(total).toBeLessThanOrEqual(80);
    expect(commands.sysctl ?? 0).toBe(0);
    expect(commands.ufw ?? 0).toBe(0);
    expect(commands['dpkg-query']).toBe(1);
    expect(commands.cut ?? 0).toBe(0);
    // no process per sysctl.d file; fail2ban's start time comes with the other units
    expect(commands.base64 ?? 0).toBe(0);
    // one systemctl show for every unit question but Caddy's loaded-config check (its user comes from it)
    expect(commands.systemctl).toBeLessThanOrEqual(2);
    // every set of files in one tail (sshd's own walk of its Includes is the other); no cat per file
    expect(commands.tail).toBeLessThanOrEqual(2);
    expect(commands.cat ?? 0).toBeLessThanOrEqual(1);
    // one iptables dump per family for ufw and Docker (the other iptables is the playbook's own `unless`)
    expect(commands.iptables).toBeLessThanOrEqual(2);
    expect(commands.ip6tables).toBe(1);
    // the deploy account's passwd line and keys share one getent; the others: every group, Caddy's user, DNS
    expect(commands.getent).toBeLessThanOrEqual(3);
    expect(commands.sed ?? 0).toBeLessThanOrEqual(1);
  });

  it('runs the slow reads in both lanes, the script\'s own shell and the background child, not all in one', async () => {
    const script = renderBatch({ probes: await siteProbes() }, '0123456789abcdef');
    // the pipeline's left side is the background lane, its right side the rest
    const pipe = script.indexOf('} </dev/null 2>/dev/null | {');
    expect(pipe).toBeGreaterThan(0);
    const child = script.slice(script.indexOf('__ss_t0'), pipe);
    const own = script.slice(pipe);
    const slow = ['systemctl show', 'openssl s_client', '--unix-socket /run/docker.sock', 'sshd -T', 'sudo -n -l', 'apt-config dump'];
    const inChild = slow.filter((c) => child.includes(c));
    expect(inChild.length).toBeGreaterThanOrEqual(2);
    expect(slow.filter((c) => !child.includes(c) && own.includes(c)).length).toBeGreaterThanOrEqual(2);
  });

  it('does not grow with the number of managed files, packages, units or kernel keys', async () => {
    const probes = await siteProbes();
    const more = Array.from({ length: 40 }, (_, i) => [
      fileContent(`/etc/shipshape-extra/file${i}.conf`),
      fileStat(`/etc/shipshape-extra/dir${i}`),
      dpkgPackages([`extra-package-${i}`]),
      unitState(`extra-${i}.service`),
      sysctlValue(`net.ipv4.conf.extra${i}.rp_filter`),
    ]).flat();
    expect(count([...probes, ...more]).total).toBe(count(probes).total);
  });
});
