/**
 * Root never follows a link another user controls (core/safe-path.ts), run for real through /bin/sh:
 * a directory owned by `nobody` stands for ~/.ssh or /srv/app of a local user, /etc stands in a
 * root-only directory. Needs root (as CI runs); skipped otherwise.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onPath, renderStep, type Step } from '../../../src/core/step.js';
import { fileContent } from '../../../src/facts/file.js';

const NOBODY = 65534;
const root = process.getuid?.() === 0;
const sh = (step: Step) => spawnSync('/bin/sh', ['-c', `set -e\n${renderStep(step)}`], { encoding: 'utf8' });

function scene() {
  const top = mkdtempSync(join(tmpdir(), 'ss-safe-'));
  chmodSync(top, 0o755);
  const etc = join(top, 'etc');
  mkdirSync(etc);
  writeFileSync(join(etc, 'shadow'), 'root-only\n', { mode: 0o600 });
  const home = join(top, 'home');
  mkdirSync(home);
  chownSync(home, NOBODY, NOBODY);
  // the user's swap: their "~/.ssh" is a link to the root-only directory
  symlinkSync(etc, join(home, '.ssh'));
  lchownSync(join(home, '.ssh'), NOBODY, NOBODY);
  return { top, etc, home };
}

describe.skipIf(!root)('root never writes through a link another user controls', () => {
  it('write step: a swapped ~/.ssh is refused and nothing lands in the link target', () => {
    const { etc, home } = scene();
    const r = sh({ kind: 'write', path: join(home, '.ssh', 'authorized_keys'), content: 'key\n', mode: '0600', owner: 'root' });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/refused: .*\.ssh is a symbolic link owned by nobody/);
    expect(existsSync(join(etc, 'authorized_keys'))).toBe(false);
  });

  it('write step: a file in a directory the user owns is written (by that user, then handed to root), mode and owner right', () => {
    const { home } = scene();
    const dest = join(home, 'app.conf');
    const r = sh({ kind: 'write', path: dest, content: 'x=1\n', mode: '0640' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const st = lstatSync(dest);
    expect([st.uid, (st.mode & 0o777).toString(8), readFileSync(dest, 'utf8')]).toEqual([0, '640', 'x=1\n']);
  });

  it('write step: a link at the target itself is replaced by the file, its target untouched', () => {
    const { etc, home } = scene();
    const dest = join(home, 'config');
    symlinkSync(join(etc, 'shadow'), dest);
    lchownSync(dest, NOBODY, NOBODY);
    expect(sh({ kind: 'write', path: dest, content: 'mine\n', owner: 'root' }).status).toBe(0);
    expect(lstatSync(dest).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(etc, 'shadow'), 'utf8')).toBe('root-only\n');
  });

  it('mkdir -p of a path whose parents do not exist yet lands where it was asked, not one level up', () => {
    const { top } = scene();
    const r = sh(onPath(join(top, 'srv', 'app', 'releases', 'v1'), ['mkdir', '-p', '--']));
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(join(top, 'srv', 'app', 'releases', 'v1')).isDirectory()).toBe(true);
    expect(existsSync(join(top, 'srv', 'app', 'v1'))).toBe(false);
    const w = sh({ kind: 'write', path: join(top, 'opt', 'conf', 'app.ini'), content: 'x\n' });
    // a file's directory must exist (as Ansible's copy requires): refused, and nothing lands one level up
    expect(existsSync(join(top, 'opt', 'app.ini'))).toBe(false);
    expect(w.status).not.toBe(0);
  });

  it('a directory writable by a group without the sticky bit is refused', () => {
    const { top } = scene();
    const shared = join(top, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o775);
    const r = sh({ kind: 'write', path: join(shared, 'x'), content: 'x' });
    expect(r.stderr).toMatch(/writable by its group or by everyone/);
    expect(existsSync(join(shared, 'x'))).toBe(false);
  });

  it('file steps: touch, mkdir, chmod and chown through a swapped directory are refused', () => {
    const { etc, home } = scene();
    for (const step of [
      onPath(join(home, '.ssh', 'new'), ['touch', '--']),
      onPath(join(home, '.ssh', 'sub'), ['mkdir', '-p', '--']),
      onPath(join(home, '.ssh', 'shadow'), ['chmod', '0644', '--']),
      onPath(join(home, '.ssh', 'shadow'), ['chown', '-h', 'nobody', '--'], { root: true }),
    ]) {
      const r = sh(step);
      expect(r.status, JSON.stringify(step)).not.toBe(0);
      expect(r.stderr).toMatch(/refused/);
    }
    expect(existsSync(join(etc, 'new')) || existsSync(join(etc, 'sub'))).toBe(false);
    const st = lstatSync(join(etc, 'shadow'));
    expect([st.uid, (st.mode & 0o777).toString(8)]).toEqual([0, '600']);
  });

  it('file steps: a link owned by the user at the path itself is refused (chmod would follow it)', () => {
    const { etc, home } = scene();
    const p = join(home, 'conf');
    symlinkSync(join(etc, 'shadow'), p);
    lchownSync(p, NOBODY, NOBODY);
    const r = sh(onPath(p, ['chmod', '0666', '--']));
    expect(r.stderr).toMatch(/refused: .*conf is a symbolic link owned by nobody/);
    expect((lstatSync(join(etc, 'shadow')).mode & 0o777).toString(8)).toBe('600');
  });

  it('the content probe never reads through a link another user owns (the diff would show /etc/shadow)', () => {
    const { etc, home } = scene();
    const p = join(home, 'conf');
    symlinkSync(join(etc, 'shadow'), p);
    lchownSync(p, NOBODY, NOBODY);
    const probe = fileContent(p);
    const out = spawnSync('/bin/sh', ['-c', probe.script], { encoding: 'utf8' });
    const fact = probe.parse(out.stdout, out.status ?? 1);
    expect(fact.type).toBe('link');
    expect(fact.content).toBeUndefined();
    expect(out.stdout).not.toContain('root-only');
  });

  it("write step from a program (get_url): written in the user's directory only once complete and checked; a failure or bad checksum leaves nothing", () => {
    const { home } = scene();
    const dest = join(home, 'tool');
    const leftovers = () => spawnSync('sh', ['-c', 'ls -a /var/tmp | grep -c shipshape-from || true'], { encoding: 'utf8' }).stdout.trim();
    const before = leftovers();
    const sum = spawnSync('sh', ['-c', "printf 'bin\\n' | sha256sum | cut -d' ' -f1"], { encoding: 'utf8' }).stdout.trim();
    const validate = `[ "$(sha256sum < %s | cut -d' ' -f1)" = ${sum} ]`;
    const ok = sh({ kind: 'write', path: dest, from: ['printf', 'bin\\n'], mode: '0755', validate });
    expect(ok.stderr).toBe('');
    expect([lstatSync(dest).uid, (lstatSync(dest).mode & 0o777).toString(8), readFileSync(dest, 'utf8')]).toEqual([0, '755', 'bin\n']);
    expect(sh({ kind: 'write', path: dest, from: ['sh', '-c', 'echo partial; exit 7'], mode: '0755' }).status).not.toBe(0);
    expect(sh({ kind: 'write', path: dest, from: ['printf', 'evil\\n'], mode: '0755', validate }).status).not.toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe('bin\n');
    expect(spawnSync('sh', ['-c', `ls -a ${home} | grep -c '^\\.shipshape' || true`], { encoding: 'utf8' }).stdout.trim()).toBe('0');
    expect(leftovers()).toBe(before);
  });

  it('write step from a program into a swapped directory is refused before the program runs', () => {
    const { etc, home } = scene();
    const marker = join(home, 'ran');
    const r = sh({ kind: 'write', path: join(home, '.ssh', 'tool'), from: ['touch', marker] });
    expect(r.status).not.toBe(0);
    expect(existsSync(join(etc, 'tool'))).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('into a directory (unarchive): tar runs as the user who owns dest, so a planted conf -> /etc link makes it fail there, not write there', () => {
    const { top, etc, home } = scene();
    const src = join(top, 'src');
    mkdirSync(join(src, 'conf'), { recursive: true });
    writeFileSync(join(src, 'README'), 'readme\n');
    writeFileSync(join(src, 'conf', 'shadow'), 'from the archive\n');
    // no directory entry for conf/: tar follows an existing conf (root's tar writes through it)
    const archive = join(top, 'app.tgz');
    expect(spawnSync('tar', ['-czf', archive, '-C', src, '--no-recursion', 'README', 'conf/shadow']).status).toBe(0);
    const dest = join(home, 'app');
    mkdirSync(dest);
    chownSync(dest, NOBODY, NOBODY);
    symlinkSync(etc, join(dest, 'conf'));
    lchownSync(join(dest, 'conf'), NOBODY, NOBODY);
    const r = sh(onPath(dest, ['tar', '-xf', archive, '-C'], { into: true }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/conf\/shadow: Cannot open/);
    expect(readFileSync(join(etc, 'shadow'), 'utf8')).toBe('root-only\n');
    // the rest is extracted, as the user
    expect([readFileSync(join(dest, 'README'), 'utf8'), lstatSync(join(dest, 'README')).uid]).toEqual(['readme\n', NOBODY]);
  });

  it('into a directory only root controls: tar runs as root (owners from the archive kept); a dest that is a user\'s link is refused', () => {
    const { top, home } = scene();
    const src = join(top, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'README'), 'readme\n');
    chownSync(join(src, 'README'), NOBODY, NOBODY);
    const archive = join(top, 'app.tgz');
    expect(spawnSync('tar', ['-czf', archive, '-C', src, 'README']).status).toBe(0);
    const dest = join(top, 'opt');
    mkdirSync(dest);
    expect(sh(onPath(dest, ['tar', '-xf', archive, '-C'], { into: true })).status).toBe(0);
    expect(lstatSync(join(dest, 'README')).uid).toBe(NOBODY);
    const r = sh(onPath(join(home, '.ssh'), ['tar', '-xf', archive, '-C'], { into: true }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/refused: .*\.ssh is a symbolic link owned by nobody/);
  });
});
