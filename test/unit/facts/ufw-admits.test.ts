/** The one firewall judgment (admits), on ufw's real rule files: who gets in on which port, in ufw's order. */
import { describe, expect, it } from 'vitest';
import { admits, controllerPeer, familyOf, type Peer } from '../../../src/facts/ufw-admits.js';
import { parseUfwApps } from '../../../src/facts/ufw.js';
import { fixtureWith, RULE_FILES, ufwStateOf } from '../helpers/ufw-files.js';

const all = ufwStateOf(RULE_FILES);
const controller: Peer = { addr: '10.99.0.1', to: '10.99.0.46', iface: 'eth0' };
const ask = (port: number, peer: Peer = controller, o: { proto?: 'tcp' | 'udp'; state?: typeof all } = {}) =>
  admits((o.state ?? all).tuples, (o.state ?? all).defaults.incoming, familyOf(peer === 'anyone' ? undefined : peer.addr), port, o.proto ?? 'tcp', peer);

describe("admits: ufw's first matching rule of the client's family decides, then the default policy", () => {
  it('reads both releases\' files (ufw 0.36.2 writes them the same): every rule, both families, in order', () => {
    expect(all.rules).toContain('allow OpenSSH');
    expect(all.tuples.filter((t) => t.family === 4)).toHaveLength(13);
    expect(all.tuples.filter((t) => t.family === 6)).toHaveLength(11);
  });

  it('an app profile opens its own ports only: allow OpenSSH is 22/tcp, not the port sshd moved to', () => {
    const openssh = fixtureWith(['allow OpenSSH']);
    expect(ask(22, controller, { state: openssh })).toMatchObject({ in: true, rule: 'allow OpenSSH' });
    expect(ask(2222, controller, { state: openssh })).toMatchObject({ in: false, why: 'no rule lets it in (default incoming deny)' });
    expect(ask(443, 'anyone')).toMatchObject({ in: true, rule: "allow 'WWW Full'" });
  });

  it('a rule for another source, or only in user6.rules, does not let an IPv4 controller in', () => {
    const narrowed = fixtureWith(['allow from 192.0.2.0/24 to any port 2222 proto tcp', 'allow from 2001:db8::/32 to any port 2222 proto tcp']);
    expect(ask(2222, controller, { state: narrowed }).in).toBe(false);
    expect(ask(2222, { ...controller, addr: '192.0.2.7' }, { state: narrowed }).in).toBe(true);
    // an IPv6 controller is judged on user6.rules; an IPv4 one seen as ::ffff:a.b.c.d on user.rules
    expect(ask(2222, { addr: '2001:db8::5' }, { state: narrowed }).in).toBe(true);
    expect(familyOf('::ffff:192.0.2.7')).toBe(4);
    expect(ask(2222, { addr: '::ffff:192.0.2.7' }, { state: narrowed }).in).toBe(true);
    // where the controller comes from is not known: a narrowed allow is not trusted
    expect(ask(2222, {}, { state: narrowed })).toMatchObject({ in: false, why: expect.stringMatching(/narrowed to a source/) });
  });

  it('a deny before an allow wins, for the address it names; reject too', () => {
    expect(ask(8022)).toMatchObject({ in: false, rule: 'deny from 10.99.0.1 to any port 8022 proto tcp', why: expect.stringMatching(/comes first and shuts it out/) });
    expect(ask(8022, { ...controller, addr: '10.99.0.2' })).toMatchObject({ in: true, rule: 'allow 8022/tcp' });
    // an unknown controller may be the address denied
    expect(ask(8022, {})).toMatchObject({ in: false, why: expect.stringMatching(/may shut it out/) });
    expect(ask(80, 'anyone')).toMatchObject({ in: false, rule: 'reject 80/tcp' });
  });

  it('limit lets in as allow does (a human rate); logged rules count', () => {
    expect(ask(2250)).toMatchObject({ in: true, rule: "limit 2200:2300/tcp comment 'rate'" });
    expect(ask(9000, controller, { proto: 'udp' })).toMatchObject({ in: true, rule: 'allow log 9000/udp' });
    expect(ask(9000).in).toBe(false);
  });

  it('allow in on eth1 lets in only what arrives on eth1 (iptables -i): the controller\'s route decides', () => {
    const eth1 = fixtureWith(['allow in on eth1 to any port 2222 proto tcp']);
    expect(ask(2222, controller, { state: eth1 }).in).toBe(false);
    expect(ask(2222, { ...controller, iface: 'eth1' }, { state: eth1 }).in).toBe(true);
    expect(ask(2222, { addr: '10.99.0.1' }, { state: eth1 }).in).toBe(false);
    expect(ask(2222, 'anyone', { state: eth1 }).in).toBe(false);
  });

  it('a rule to one of the host\'s addresses lets in a controller that connected to that address', () => {
    const to = fixtureWith(['allow to 10.99.0.46 port 2223 proto tcp']);
    expect(ask(2223, controller, { state: to })).toMatchObject({ in: true, rule: 'allow to 10.99.0.46 port 2223 proto tcp' });
    expect(ask(2223, { ...controller, to: '10.99.0.47' }, { state: to }).in).toBe(false);
    expect(ask(2223, { addr: '10.99.0.1' }, { state: to }).in).toBe(false);
  });

  it('routed and outgoing rules let nothing in; with no rule the default policy decides', () => {
    const elsewhere = fixtureWith(['route allow 2224/tcp', 'allow out 2225/tcp']);
    expect(ask(2224, controller, { state: elsewhere }).in).toBe(false);
    expect(ask(2225, controller, { state: elsewhere }).in).toBe(false);
    const open = fixtureWith([], { incoming: 'ACCEPT' });
    expect(ask(2224, controller, { state: open })).toMatchObject({ in: true, why: 'no rule decides and the default incoming policy is allow' });
    expect(ask(8022, controller, { state: fixtureWith(['deny from 10.99.0.1 to any port 8022 proto tcp'], { incoming: 'ACCEPT' }) }).in).toBe(false);
  });

  it('the controller as the host sees it: $SSH_CONNECTION and the route back', () => {
    const host = { container: 'none', osId: 'debian', osVersion: '12', osCodename: 'bookworm', arch: 'amd64', server: '10.99.0.46', clientRoute: { dev: 'eth0', nets: [] } };
    expect(controllerPeer({ port: 22, user: 'deploy', client: '10.99.0.1' }, host)).toEqual(controller);
    expect(controllerPeer({ port: 22, user: 'deploy' }, { ...host, server: undefined, clientRoute: undefined })).toEqual({});
  });

  it("reads an app profile's ports from ufw's INI files", () => {
    const apps = parseUfwApps('[OpenSSH]\ntitle=Secure shell server\nports=22/tcp\n\n[WWW Full]\ntitle=Web Server (HTTP,HTTPS)\nports=80,443/tcp\n');
    expect(apps).toEqual({ OpenSSH: '22/tcp', 'WWW Full': '80,443/tcp' });
  });
});
