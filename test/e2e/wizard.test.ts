/**
 * `shipshape init` end to end, through a real terminal (tmux: a pty, raw mode, real Ctrl-C) against a
 * fresh lab VPS that lets only root in with a key. One host carries the whole story: wrong answers
 * caught live with their reasons, then the right ones (Docker and one Caddy site with a Pebble
 * certificate), the plan confirmed and applied; afterwards what the operator relies on: deploy logs
 * in with its key and has sudo, root and passwords are refused, the site answers over verified
 * HTTPS, `check` on the written files exits 0, a re-run that keeps every answer changes nothing,
 * Ctrl-C leaves nothing half-written and the next run continues, and --answers without a terminal
 * gives the same files. On Debian 13 the same outcome is reached through --answers.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshHosts, hostExec, shipshape, sshLogin, stopwatch, type Lab } from './support.js';
import { Terminal } from './wizard-terminal.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'shipshape');
const SECRET = 'wizard-e2e-Secr3t-sudo';
const { timings, timed } = stopwatch();

const releases = [
  { dist: 'bookworm' as const, host: 'h61', terminal: true },
  { dist: 'trixie' as const, host: 'h161', terminal: false },
];

/** Every file `init` wrote under a folder, with a hash, temp files included (there must be none). */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(dir.length + 1)] = createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 12);
    }
  };
  walk(dir);
  return out;
}

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

describe.each(releases)('shipshape init on a fresh $dist VPS', ({ dist, host, terminal }) => {
  let lab: Lab;
  let work: string;
  let home: string;
  let env: Record<string, string>;
  let addr: string;
  let fqdn: string;
  let rootPem: string;
  let answersFile: string;
  const project = () => join(work, 'site');

  beforeAll(async () => {
    lab = await timed(`fresh ${host} (${dist})`, () => freshHosts([host], { dist }));
    addr = lab.hosts[0].addr;
    fqdn = lab.hosts[0].fqdn;
    work = mkdtempSync(join(tmpdir(), `ss-e2e-wizard-${host}-`));
    // a home of its own: no host key known, no agent, no default keys: the identity file is the one answered
    home = join(work, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    env = { HOME: home, SSH_AUTH_SOCK: '', NO_COLOR: '1', TERM: 'xterm-256color' };
    rootPem = join(work, 'pebble-root.pem');
    writeFileSync(rootPem, await lab.pebble.issuingRoot());
    answersFile = join(work, 'answers.yml');
    writeFileSync(
      answersFile,
      [
        `host: ${addr}`,
        `identity_file: ${lab.keyPath}`,
        `deploy_authorized_keys: ["${readFileSync(`${lab.keyPath}.pub`, 'utf8').trim()}"]`,
        'docker: true',
        'docker_source: debian',
        `caddy_sites: [{ domain: ${fqdn}, root: /srv/www }]`,
        'caddy_email: ops@lab.test',
        'caddy_source: debian',
        `caddy_acme_ca: ${lab.pebble.directory}`,
        `caddy_acme_ca_root: ${lab.pebble.listenerCaPath}`,
        '',
      ].join('\n'),
    );
  });

  afterAll(() => {
    console.log(`wizard e2e timings (${dist}):\n  ${timings.join('\n  ')}`);
  });

  if (terminal) {
    it('asks on a terminal, catches wrong answers live with their reasons, writes, plans and applies', async () => {
      const wrongKey = join(work, 'not-authorized');
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
      const t = await Terminal.start(`init-${host}`, work, env, `${CLI} init site`);
      try {
        // an address where nothing answers
        await t.answer('Server address', '10.99.0.250');
        await t.answer('SSH port');
        await t.answer('Login the server gives you now');
        await t.answer('Private key to log in with', lab.keyPath);
        await t.answer('Name of the deploy user');
        await t.waitFor(/✗ 10\.99\.0\.250:22 does not answer/, 60_000);
        // the right address, but the operator does not trust the key it shows
        await t.answer('Server address', addr);
        for (const q of ['SSH port', 'Login the server gives you now', 'Private key to log in with', 'Name of the deploy user']) await t.answer(q);
        await t.waitFor(/The server's host key is not known yet: ssh-ed25519 SHA256:\S+/);
        await t.answer('Trust SHA256:', 'n');
        await t.waitFor(/✗ you did not trust the host key ssh-ed25519 SHA256:\S+ of 10\.99\.0\.\d+; nothing was run there/);
        // a key the server does not accept
        await t.answer('Server address');
        await t.answer('SSH port');
        await t.answer('Login the server gives you now');
        await t.answer('Private key to log in with', wrongKey);
        await t.answer('Name of the deploy user');
        await t.waitFor(/✗ the server answered, but refused the login: authentication failed for user deploy .*and as bootstrap_user root: authentication failed/);
        // all right now
        await t.answer('Server address');
        await t.answer('SSH port');
        await t.answer('Login the server gives you now');
        await t.answer('Private key to log in with', lab.keyPath);
        await t.answer('Name of the deploy user');
        await t.answer('Trust SHA256:', 'y');
        await t.waitFor(new RegExp(`✓ logged in as root; ${dist === 'bookworm' ? 'debian 12' : 'debian 13'} `));
        await t.answer('Public keys that may log in as deploy');
        await t.answer('Another public key');
        await t.answer(/Docker Engine.*Set up Docker\?/, 'y');
        await t.choose('Install Docker from', 1);
        await t.answer(/Caddy: HTTPS sites.*Set up HTTPS sites\?/, 'y');
        // a domain that does not resolve: named, and not taken without consent
        await t.answer('Domain of the site', `ghost.${fqdn}`);
        await t.waitFor(new RegExp(`✗ ghost\\.${fqdn.replace(/\./g, '\\.')} does not resolve`));
        await t.answer('Use this domain anyway?', 'n');
        await t.answer('Domain of the site', fqdn);
        await t.waitFor(new RegExp(`✓ ${fqdn.replace(/\./g, '\\.')} resolves to ${addr.replace(/\./g, '\\.')} \\(this host\\)`));
        await t.choose(`What does ${fqdn} serve?`, 1);
        await t.answer('Directory on the server', '/srv/www');
        await t.answer('Add another site?');
        await t.answer('Email for the certificate authority', 'ops@lab.test');
        await t.choose('Install Caddy from', 1);
        await t.answer('ACME CA directory URL', lab.pebble.directory);
        await t.answer("That CA directory's root certificate file", lab.pebble.listenerCaPath);
        // offered because the backup role exists; not part of this scenario
        await t.answer(/Backups of your data.*Set up backups\?/, 'n');
        await t.answer(/Unattended reboots/);
        await t.answer('Networks allowed to reach SSH');
        await t.answer('Ports open to everyone besides SSH');
        // the plan is the run's own check output, then one question
        await timed('interactive: plan', () => t.prompt(/Apply this to web1/, 600_000));
        const plan = await t.screen();
        expect(plan).toMatch(/web1 would change deploy_user \| user deploy/);
        expect(plan).toMatch(/web1 would change caddy \| Caddyfile/);
        await t.answer(/Apply this to web1/, 'y');
        const code = await timed('interactive: apply', () => t.exitCode());
        const screen = await t.screen();
        expect(code, screen.slice(-5000)).toBe(0);
        expect(screen).toMatch(/RECAP\n\s*web1\s+ok=\d+\s+changed=\d+\s+failed=0/);
        expect(screen).toContain(`log in:      ssh -i ${lab.keyPath} -o UserKnownHostsFile=site/inventory/known_hosts deploy@${addr}`);
        expect(screen).toContain(`shipshape init site --answers answers.yml --yes`);
      } finally {
        await t.close();
      }
      expect(Object.keys(tree(project())).sort()).toEqual([
        '.gitignore',
        // editors' schema help, named by the first line of each YAML file
        '.shipshape/schemas/inventory.schema.json',
        '.shipshape/schemas/playbook.schema.json',
        '.shipshape/schemas/vars.schema.json',
        'inventory/group_vars/all.yml',
        'inventory/hosts.yml',
        'inventory/known_hosts',
        'playbooks/site.yml',
      ]);
      expect(read(project(), 'playbooks/site.yml')).toMatch(/roles:\n\s+- deploy_user\n\s+- ssh\n\s+- firewall\n(\s+- \w+\n)*\s+- docker\n\s+- caddy\n/);
    });
  } else {
    it('--answers --yes without a terminal sets the server up', async () => {
      const r = await timed('answers: init + apply', () => shipshape(['init', project(), '--answers', answersFile, '--yes', '--accept-new-host-keys'], env));
      expect(r.code, `${r.stdout.slice(-5000)}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/RECAP\n\s*web1\s+ok=\d+\s+changed=\d+\s+failed=0/);
    });
  }

  it('afterwards deploy logs in with its key and has sudo; root and passwords are refused', async () => {
    const deploy = await sshLogin(lab, 'deploy', addr, 'sudo -n id -u');
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout.trim()).toBe('0');
    const root = await sshLogin(lab, 'root', addr, 'true');
    expect(root.code).not.toBe(0);
    expect(root.stderr).toMatch(/Permission denied/);
    const password = await sshLogin(lab, 'deploy', addr, 'true', ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive']);
    expect(password.code).not.toBe(0);
    expect(password.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it('the site answers over HTTPS verified against the ACME CA, and check on the written files exits 0', async () => {
    const page = `hello from the wizard on ${host}\n`;
    expect((await hostExec(host, `mkdir -p /srv/www && printf '%s' '${page}' > /srv/www/index.html`)).code).toBe(0);
    const curl = await run('curl', ['-sS', '--max-time', '20', '--retry', '5', '--retry-all-errors', '--cacert', rootPem, '--resolve', `${fqdn}:443:${addr}`, `https://${fqdn}/`]);
    expect(curl.stdout).toBe(page);
    const check = await timed('check on the written files', () => shipshape(['check', join(project(), 'playbooks/site.yml'), '-i', join(project(), 'inventory')], env));
    expect(check.code, `${check.stdout.slice(-3000)}\n${check.stderr}`).toBe(0);
  });

  if (terminal) {
    it('a re-run offers the previous answers, and keeping them all changes nothing', async () => {
      const before = tree(project());
      const t = await Terminal.start(`rerun-${host}`, work, env, `${CLI} init site`);
      try {
        await t.waitFor(/Found an earlier setup here: its answers are the defaults/);
        // enter on every question keeps the earlier answer
        const seen: string[] = [];
        for (;;) {
          const s = await t.waitFor(/^(\? .*)$|^__EXIT=\d+$/m, 300_000);
          if (s[0].startsWith('__EXIT')) break;
          seen.push(s[1]);
          expect(seen.length, seen.join('\n')).toBeLessThan(40);
          await t.keys('Enter');
          await new Promise((r) => setTimeout(r, 300));
        }
        const screen = await t.screen();
        expect(await t.exitCode(), screen.slice(-4000)).toBe(0);
        expect(screen).toMatch(new RegExp(`Server address \\(IP or DNS name\\): ${addr.replace(/\./g, '\\.')}`));
        expect(screen).toContain(`Keep ${fqdn} → /srv/www as they are?`);
        expect(screen).not.toContain('host key is not known');
        expect(screen).toMatch(/unchanged inventory\/hosts\.yml/);
        expect(screen).toMatch(/would_change=0/);
        expect(screen).toContain('The server already matches: nothing to apply.');
      } finally {
        await t.close();
      }
      expect(tree(project())).toEqual(before);
    });

    it('Ctrl-C in the middle exits 130 with nothing half-written; the next run (--answers, no terminal) continues and writes the same files', async () => {
      const second = join(work, 'second');
      const t = await Terminal.start(`ctrlc-${host}`, work, env, `${CLI} init second`);
      try {
        await t.answer('Server address', addr);
        await t.answer('SSH port');
        await t.answer('Login the server gives you now');
        await t.answer('Private key to log in with', lab.keyPath);
        await t.answer('Name of the deploy user');
        await t.answer('Trust SHA256:', 'y');
        await t.prompt('Public keys that may log in as deploy');
        await t.keys('C-c');
        expect(await t.exitCode(60_000)).toBe(130);
        expect(await t.screen()).toContain('Interrupted: nothing more was written');
      } finally {
        await t.close();
      }
      // what was settled (the trusted host key) is there, whole; nothing else, no temp file
      expect(Object.keys(tree(second))).toEqual(['inventory/known_hosts']);
      // the key the operator trusted; the first project's file may hold more of the same server's keys,
      // recorded over the verified connection while its apply ran
      const trusted = read(second, 'inventory/known_hosts').trim().split('\n');
      expect(trusted.length).toBeGreaterThan(0);
      for (const line of trusted) expect(read(project(), 'inventory/known_hosts')).toContain(line);

      const r = await timed('answers run in the interrupted folder', () => shipshape(['init', second, '--answers', answersFile, '--yes'], { ...env, SHIPSHAPE_BECOME_PASSWORD: SECRET }));
      expect(r.code, `${r.stdout.slice(-4000)}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('The server already matches: nothing to apply.');
      for (const f of ['inventory/hosts.yml', 'playbooks/site.yml', '.gitignore']) expect(read(second, f), f).toBe(read(project(), f));
      const withoutSecretNote = (s: string) => s.replace(/^# Secrets are not here.*\n/m, '');
      expect(withoutSecretNote(read(second, 'inventory/group_vars/all.yml'))).toBe(read(project(), 'inventory/group_vars/all.yml'));
      // the secret: only in the owner-only file .gitignore names, never in output or git files
      expect(`${r.stdout}${r.stderr}`).not.toContain(SECRET);
      const secrets = 'inventory/group_vars/all/secrets.yml';
      for (const f of Object.keys(tree(second)).filter((f) => f !== secrets)) expect(read(second, f), f).not.toContain(SECRET);
      expect(read(second, secrets)).toContain(SECRET);
      expect(statSync(join(second, secrets)).mode & 0o777).toBe(0o600);
      expect(read(second, '.gitignore').split('\n')).toContain(secrets);
    });

    it('a missing answer exits 64 at once, naming the key with an example, contacting nothing', async () => {
      let connections = 0;
      const server = createServer((s) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const bad = join(work, 'missing.yml');
      writeFileSync(bad, `host: 127.0.0.1\nport: ${port}\ndocker: true\n`);
      const started = Date.now();
      const r = await shipshape(['init', join(work, 'third'), '--answers', bad, '--yes'], env);
      const secs = (Date.now() - started) / 1000;
      timings.push(`missing answer: exit ${r.code} in ${secs.toFixed(2)} s`);
      server.close();
      expect(r.code).toBe(64);
      expect(r.stderr).toContain('missing answer `deploy_authorized_keys`');
      expect(r.stderr).toContain('for example: deploy_authorized_keys: ["ssh-ed25519');
      expect(connections).toBe(0);
      expect(() => readdirSync(join(work, 'third'))).toThrow();
    });
  }
});
