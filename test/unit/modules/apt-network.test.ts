// apt's network phases under --apt-timeout, run by dash with a stand-in apt-get that never gets an answer: the step
// ends with 124 and a report naming the servers and the proxy, and apt-get's children are stopped with it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderStep } from '../../../src/core/step.js';
import { downloadScript } from '../../../src/modules/apt-prefetch.js';
import { updateScript } from '../../../src/modules/apt.js';
import { updateScript as repoUpdateScript } from '../../../src/modules/apt_repository.js';
import { debian12, modules, planFor, sshAccess } from '../helpers/plan.js';

const bin = mkdtempSync(join(tmpdir(), 'ss-unit-apt-net-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));
// a marker only this file's stand-in process carries, to find it again after the bound
const MARK = `${60 + Math.floor(Math.random() * 9)}.${1000 + Math.floor(Math.random() * 8999)}`;

function stub(aptGet: string): void {
  writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\n${aptGet}\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'apt-config'), `#!/bin/sh\necho "P='http://127.0.0.1:39142'"\n`, { mode: 0o755 });
}

// apt-get that waits for an answer that never comes (a child waits, as apt's http method does)
const HANGS = `case "$*" in
  --print-uris*update*) printf '%s\\n' "'http://deb.example/debian/dists/x/InRelease' a 0" "'http://security.example/debian-security/dists/x/InRelease' b 0" ;;
  --print-uris*) printf '%s\\n' "'http://deb.example/debian/pool/main/t/tree/tree_2.1.0-1_amd64.deb' tree.deb 1 SHA256:0" ;;
  *' -s '*|-s*) echo 'Inst tree (2.1.0-1 Debian:12/stable [amd64])' ;;
  *) sleep ${MARK} & wait ;;
esac`;

// a step that outlives its bound (an apt child left holding the output) fails here instead of blocking the worker
const runDash = (script: string) => spawnSync('dash', ['-c', `(\nset -e\n${script}\n)`], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` }, timeout: 15_000 });

const leftover = () => {
  try {
    return execFileSync('pgrep', ['-f', `sleep ${MARK}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

async function gone(): Promise<string> {
  // the group was signalled before timeout exited; the kernel may take a moment to reap it
  for (let i = 0; i < 50 && leftover(); i++) await new Promise((r) => setTimeout(r, 100));
  return leftover();
}

describe('apt-get update under the bound', () => {
  it('stops an update that gets no answer: status 124, the servers and the proxy named, its children gone', async () => {
    stub(HANGS);
    const r = runDash(updateScript(1));
    expect(r.status).toBe(124);
    expect(r.stdout).toContain(
      'apt-get update did not finish within 1s (--apt-timeout): no answer, or too slow, from http://deb.example http://security.example through the proxy http://127.0.0.1:39142. ' +
        'Stopped it before anything was installed (dpkg did not run).',
    );
    expect(await gone()).toBe('');
  });

  it("names the servers and the proxy without their user:password@ (the report is printed and kept in --json)", async () => {
    stub(HANGS.replace(/http:\/\/deb\.example/g, 'http://mirroruser:m1rr0r-secret@deb.example'));
    writeFileSync(join(bin, 'apt-config'), `#!/bin/sh\necho "P='http://proxyuser:pr0xy-secret@127.0.0.1:39142/'"\n`, { mode: 0o755 });
    const r = runDash(updateScript(1));
    expect(r.status).toBe(124);
    expect(r.stdout).toContain('from http://deb.example http://security.example through the proxy http://127.0.0.1:39142/.');
    expect(r.stdout).not.toMatch(/secret|mirroruser|proxyuser/);
    expect(await gone()).toBe('');
  });

  it('an apt_repository update is bounded the same way, and names only what apt fetches for that source', async () => {
    stub(HANGS);
    const r = runDash(repoUpdateScript('/etc/apt/sources.list.d/docker.sources', 1));
    expect(r.status).toBe(124);
    expect(r.stdout).toMatch(/^apt-get update did not finish within 1s .*from http:\/\/deb\.example http:\/\/security\.example through the proxy/m);
    expect(await gone()).toBe('');
  });

  it('an update that answers is untouched by the bound', () => {
    stub(HANGS.replace('*) sleep', '*) echo Hit; exit 0; sleep'));
    writeFileSync(join(bin, 'apt-config'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const r = runDash(updateScript(1));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Hit\n');
  });
});

describe('the play download under the bound', () => {
  it('stops a download that gets no answer: status 124, and the install steps after it never run', async () => {
    stub(HANGS);
    const r = runDash(`${downloadScript([{ words: ['tree'] }], 300, 1)}\necho 'install ran'`);
    expect(r.status).toBe(124);
    expect(r.stdout).toContain('apt-get --download-only did not finish within 1s (--apt-timeout): no answer, or too slow, from http://deb.example through the proxy http://127.0.0.1:39142.');
    expect(r.stdout).not.toContain('install ran');
    expect(await gone()).toBe('');
  });
});

describe('the bound reaches the plans', () => {
  it("the apt task's update carries --apt-timeout (default 900 s); the install itself is never under it", () => {
    const fresh = { packages: { available: true, entries: [] }, cache: { now: 100, hasLists: false } };
    const dflt = planFor('apt', { name: 'tree', update_cache: true }, fresh);
    const script = dflt.steps.map(renderStep).join('\n');
    expect(script).toContain('timeout -k 10 900 apt-get');
    const install = dflt.steps.find((s) => s.kind === 'run' && s.argv.includes('install'));
    expect(install && renderStep(install)).not.toContain('timeout');
    const apt = modules.apt;
    const short = apt.plan(apt.schema.parse({ name: 'tree', update_cache: true }), fresh as never, { host: debian12, access: sshAccess, check: false, aptTimeoutSec: 7 });
    expect(short.steps.map(renderStep).join('\n')).toContain('timeout -k 10 7 apt-get');
  });
});
