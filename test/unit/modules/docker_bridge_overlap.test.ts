/**
 * Docker's bridge and address pools against the host's way to the controller, from real `ip route get`
 * and `ip -o addr show dev` output (iproute2 6.1, as on Debian 12; the same format on Debian 13).
 */
import { describe, expect, it } from 'vitest';
import { bridgeOverlap, cidr, dockerSubnets } from '../../../roles/docker/bridge-overlap.js';
import dockerDaemon from '../../../roles/docker/docker_daemon.js';
import { hostInfo, parseClientRoute } from '../../../src/facts/host.js';
import type { PlanContext } from '../../../src/core/module.js';

// a VPS whose provider network is 172.17.0.0/16 and the controller behind the gateway (a route via it)
const VIA_GATEWAY = parseClientRoute('198.51.100.7 via 172.17.0.1 dev eth0 src 172.17.4.20 uid 0 ', [
  '2: eth0    inet 172.17.4.20/16 brd 172.17.255.255 scope global eth0\\       valid_lft forever preferred_lft forever',
  '2: eth0    inet6 fe80::216:3eff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever',
])!;
// the lab: the controller on the same link
const ON_LINK = parseClientRoute('10.99.0.1 dev eth0 src 10.99.0.55 uid 0 ', ['2: eth0    inet 10.99.0.55/24 brd 10.99.0.255 scope global eth0\\       valid_lft forever preferred_lft forever'])!;

describe('the route to the controller, as the host reports it', () => {
  it('parses ip route get and the interface addresses', () => {
    expect(VIA_GATEWAY).toEqual({ via: '172.17.0.1', dev: 'eth0', src: '172.17.4.20', nets: ['172.17.4.20/16', 'fe80::216:3eff:fe00:1/64'] });
    expect(ON_LINK).toEqual({ dev: 'eth0', src: '10.99.0.55', nets: ['10.99.0.55/24'] });
  });

  it('rides in the host info probe', () => {
    const out = 'container=systemd-nspawn\nid=debian\nversion=12\ncodename=bookworm\narch=amd64\nclient=10.99.0.1\nroute=10.99.0.1 dev eth0 src 10.99.0.55 uid 0 \n@@ip\n1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n2: eth0    inet 10.99.0.55/24 brd 10.99.0.255 scope global eth0\\       valid_lft forever preferred_lft forever\n';
    expect(hostInfo.parse(out, 0)).toMatchObject({ client: '10.99.0.1', clientRoute: ON_LINK });
  });
});

describe("Docker's networks against the way to the controller", () => {
  it('a bip over the gateway towards the controller is refused, naming bip and a free subnet', () => {
    const why = bridgeOverlap({ bip: '172.17.0.1/16' }, '198.51.100.7', VIA_GATEWAY);
    expect(why).toMatch(/docker0 \(172\.17\.0\.1\/16, daemon\.json "bip"\) overlaps the next hop towards the controller, 172\.17\.0\.1/);
    expect(why).toMatch(/set docker_daemon: \{ bip: "10\.213\.0\.1\/24" \}/);
    expect(why).toMatch(/Nothing was changed/);
    // without a bip dockerd elects a default subnet that overlaps none of its routes (this link's 172.17.0.0/16)
    expect(bridgeOverlap({}, '198.51.100.7', VIA_GATEWAY)).toBeUndefined();
  });

  it('a controller address inside the default bridge or pools is refused; a configured bip that avoids it passes', () => {
    const route = parseClientRoute('172.18.9.9 via 203.0.113.1 dev eth0 src 203.0.113.50 uid 0', ['2: eth0    inet 203.0.113.50/24 scope global eth0'])!;
    expect(bridgeOverlap({}, '172.18.9.9', route)).toMatch(/address pool 172\.18\.0\.0\/16 \(Docker's built-in default-address-pools.*controller's address 172\.18\.9\.9.*default-address-pools: \[\{ base: "10\.214\.0\.0\/16", size: 24 \}\]/);
    expect(bridgeOverlap({ 'default-address-pools': [{ base: '10.214.0.0/16', size: 24 }] }, '172.18.9.9', route)).toBeUndefined();
    // a VPN address in 192.168/16 through a gateway: Docker's built-in pool would take it for a compose network
    expect(bridgeOverlap({}, '192.168.1.20', route)).toMatch(/192\.168\.0\.0\/16/);
  });

  it('a configured bip or pool on the host network is refused; defaults on the link are left to dockerd (it skips subnets of its routes)', () => {
    expect(bridgeOverlap({ bip: '10.99.0.200/24' }, '10.99.0.1', ON_LINK)).toMatch(/docker0 \(10\.99\.0\.200\/24, daemon\.json "bip"\) overlaps the controller's address 10\.99\.0\.1/);
    expect(bridgeOverlap({ 'default-address-pools': [{ base: '10.99.0.0/16', size: 24 }] }, '10.99.0.1', ON_LINK)).toMatch(/address pool 10\.99\.0\.0\/16 \(daemon\.json "default-address-pools"\)/);
    expect(bridgeOverlap({}, '10.99.0.1', ON_LINK)).toBeUndefined();
    const lan = parseClientRoute('192.168.1.5 dev eth0 src 192.168.1.10 uid 0', ['2: eth0    inet 192.168.1.10/24 scope global eth0'])!;
    // a controller on the host's own LAN in 192.168/16: dockerd skips the pool chunks of its routes
    expect(bridgeOverlap({}, '192.168.1.5', lan)).toBeUndefined();
    expect(bridgeOverlap({ bip: '192.168.1.1/24' }, '192.168.1.5', lan)).toMatch(/overlaps the controller's address 192\.168\.1\.5/);
  });

  it('without an SSH client (local connection) nothing is known and nothing is refused', () => {
    expect(bridgeOverlap({ bip: '10.0.0.1/8' }, undefined, undefined)).toBeUndefined();
  });

  it('subnets: bip as written, fixed-cidr, configured pools instead of the built-in ones', () => {
    expect(dockerSubnets({ bip: '10.1.0.1/24', 'fixed-cidr': '10.1.0.128/25', 'default-address-pools': [{ base: '10.2.0.0/16', size: 24 }] }).map((d) => d.subnet)).toEqual(['10.1.0.1/24', '10.1.0.128/25', '10.2.0.0/16']);
    expect(cidr('172.17.0.1/16')).toMatchObject({ bits: 16 });
    expect(cidr('300.1.1.1/8')).toBeUndefined();
  });

  it('is the docker_daemon preflight: the play is refused before its first change', () => {
    const ctx = (client: string, route: typeof ON_LINK): PlanContext => ({ host: { container: 'none', osId: 'debian', osVersion: '12', osCodename: 'bookworm', arch: 'amd64', client, clientRoute: route }, access: { port: 22, user: 'deploy', client }, check: false });
    const args = dockerDaemon.schema.parse({ config: { bip: '10.99.0.200/24' } });
    expect(dockerDaemon.preflight?.(args, ctx('10.99.0.1', ON_LINK))).toMatch(/bip/);
    expect(dockerDaemon.preflight?.(dockerDaemon.schema.parse({ config: {} }), ctx('10.99.0.1', ON_LINK))).toBeUndefined();
  });
});
