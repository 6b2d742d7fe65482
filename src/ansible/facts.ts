/**
 * Ansible's gathered facts, read by one probe that rides in the play's first round trip (Ansible's
 * setup module costs a round trip and a Python process of its own). Only the facts listed here are
 * gathered; a playbook naming another `ansible_*` fact is refused before any host is contacted.
 * Values follow Ansible's setup module on Debian: distribution names as in /etc/os-release mapped
 * to Ansible's spelling, architecture as `uname -m`, memory in MiB.
 */
import { probe } from '../core/probe.js';

export type Facts = Record<string, unknown>;

/** Names a template can use, with and without the `ansible_` prefix (`ansible_facts.os_family`). */
export const FACT_NAMES = [
  'distribution',
  'distribution_release',
  'distribution_version',
  'distribution_major_version',
  'os_family',
  'architecture',
  'machine',
  'userspace_architecture',
  'system',
  'kernel',
  'hostname',
  'nodename',
  'fqdn',
  'domain',
  'memtotal_mb',
  'swaptotal_mb',
  'processor_vcpus',
  'processor_nproc',
  'default_ipv4',
  'all_ipv4_addresses',
  'virtualization_type',
  'virtualization_role',
  'service_mgr',
  'pkg_mgr',
  'lsb',
] as const;

const PREFIXED = new Set<string>(['ansible_facts', ...FACT_NAMES.map((n) => `ansible_${n}`)]);

export function isFactName(name: string): boolean {
  return PREFIXED.has(name);
}

export const ansibleFactsProbe = probe<Facts>(
  'ansible:facts',
  [
    '. /etc/os-release 2>/dev/null',
    'echo "os_id=$ID"; echo "os_name=$NAME"; echo "os_version=$VERSION_ID"; echo "os_codename=$VERSION_CODENAME"',
    'echo "debian_version=$(cat /etc/debian_version 2>/dev/null)"',
    'echo "machine=$(uname -m)"; echo "kernel=$(uname -r)"; echo "system=$(uname -s)"',
    'echo "hostname=$(hostname 2>/dev/null || cat /etc/hostname)"',
    'echo "fqdn=$(hostname -f 2>/dev/null || hostname)"',
    "echo \"mem=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)\"; echo \"swap=$(awk '/^SwapTotal:/{print $2}' /proc/meminfo)\"",
    'echo "nproc=$(nproc 2>/dev/null)"',
    'v=$(systemd-detect-virt 2>/dev/null) || v=none; echo "virt=$v"',
    'echo "init=$(cat /proc/1/comm 2>/dev/null)"',
    // the interface and address of the default route, as Ansible's default_ipv4
    "r=$(ip -4 route show default 2>/dev/null | head -n1); echo \"route=$r\"",
    "dev=$(echo \"$r\" | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')",
    '[ -n "$dev" ] && echo "devaddr=$(ip -4 -o addr show dev "$dev" 2>/dev/null | head -n1)"',
    '[ -n "$dev" ] && echo "macaddress=$(cat /sys/class/net/$dev/address 2>/dev/null)"',
    'echo "addrs=$(ip -4 -o addr show 2>/dev/null | awk \'$2 != "lo" {print $4}\' | tr \'\\n\' \' \')"',
  ].join('\n'),
  (out) => parseFacts(out),
);

/** Ansible's distribution names for os-release IDs */
const DISTRIBUTION: Record<string, string> = { debian: 'Debian', ubuntu: 'Ubuntu', raspbian: 'Debian', linuxmint: 'Linux Mint', centos: 'CentOS', fedora: 'Fedora', rhel: 'RedHat', rocky: 'Rocky', almalinux: 'AlmaLinux', alpine: 'Alpine', arch: 'Archlinux' };
const FAMILY: Record<string, string> = { Debian: 'Debian', Ubuntu: 'Debian', 'Linux Mint': 'Debian', CentOS: 'RedHat', Fedora: 'RedHat', RedHat: 'RedHat', Rocky: 'RedHat', AlmaLinux: 'RedHat', Alpine: 'Alpine', Archlinux: 'Archlinux' };

export function parseFacts(out: string): Facts {
  const kv: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  const distribution = DISTRIBUTION[kv.os_id] ?? (kv.os_name || 'NA');
  // Debian's point release (12.7) is in /etc/debian_version; testing/sid have no VERSION_ID
  const version = distribution === 'Debian' && /^\d+(\.\d+)?$/.test(kv.debian_version ?? '') ? kv.debian_version : kv.os_version || 'NA';
  const fqdn = kv.fqdn || kv.hostname || '';
  const hostname = (kv.hostname || '').split('.')[0];
  const machine = kv.machine ?? '';
  const virt = kv.virt && kv.virt !== 'none' ? kv.virt : '';
  const route = kv.route ?? '';
  const gateway = /\bvia (\S+)/.exec(route)?.[1];
  const iface = /\bdev (\S+)/.exec(route)?.[1];
  const cidr = /\binet (\S+)/.exec(kv.devaddr ?? '')?.[1];
  const [address, prefix] = cidr ? cidr.split('/') : [];
  const defaultIpv4: Record<string, unknown> = {};
  if (iface && address) {
    Object.assign(defaultIpv4, {
      address,
      alias: iface,
      gateway: gateway ?? '',
      interface: iface,
      macaddress: kv.macaddress ?? '',
      netmask: netmask(Number(prefix ?? 32)),
      network: network(address, Number(prefix ?? 32)),
      prefix: prefix ?? '32',
      type: 'ether',
    });
  }
  const mb = (k: string) => (kv[k] ? Math.floor(Number(kv[k]) / 1024) : 0);
  return {
    distribution,
    distribution_release: kv.os_codename || 'NA',
    distribution_version: version,
    distribution_major_version: version.split('.')[0],
    os_family: FAMILY[distribution] ?? distribution,
    architecture: machine,
    machine,
    userspace_architecture: machine,
    system: kv.system || 'Linux',
    kernel: kv.kernel ?? '',
    hostname,
    nodename: kv.hostname ?? '',
    fqdn,
    domain: fqdn.includes('.') ? fqdn.slice(fqdn.indexOf('.') + 1) : '',
    memtotal_mb: mb('mem'),
    swaptotal_mb: mb('swap'),
    processor_vcpus: Number(kv.nproc) || 1,
    processor_nproc: Number(kv.nproc) || 1,
    default_ipv4: defaultIpv4,
    all_ipv4_addresses: (kv.addrs ?? '').split(/\s+/).filter(Boolean).map((a) => a.split('/')[0]),
    virtualization_type: virt || 'NA',
    virtualization_role: virt ? 'guest' : 'NA',
    service_mgr: kv.init === 'systemd' ? 'systemd' : kv.init || 'service',
    pkg_mgr: 'apt',
    lsb: { id: distribution, codename: kv.os_codename ?? '', release: version, major_release: version.split('.')[0] },
  };
}

function netmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

function network(address: string, prefix: number): string {
  const n = address.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (n & bits) >>> 0;
  return [24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.');
}

/** Template variables for gathered facts: `ansible_facts` (unprefixed) and each `ansible_NAME`. */
export function factVars(facts: Facts): Record<string, unknown> {
  const out: Record<string, unknown> = { ansible_facts: facts };
  for (const [k, v] of Object.entries(facts)) out[`ansible_${k}`] = v;
  return out;
}
