import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { armScript, disarmScript, renewScript, revertNowScript, type Guard } from '../../../src/engine/guard.js';

// No systemd on this controller: these exercise the detached-sleeper fallback through a real /bin/sh.
const sh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });

function setup(timeoutSec: number) {
  const root = mkdtempSync(join(tmpdir(), 'ss-guard-'));
  const kept = join(root, 'sshd.conf');
  const created = join(root, 'new.conf');
  writeFileSync(kept, 'before\n');
  const g: Guard = { id: 't', dir: join(root, 'guard'), paths: [kept, created], restore: `echo restored > ${join(root, 'restore-ran')}`, timeoutSec };
  return { root, kept, created, g };
}

describe('access guard scripts', () => {
  it('reverts by itself when nobody confirms in time', async () => {
    const { root, kept, created, g } = setup(1);
    sh(armScript(g));
    writeFileSync(kept, 'after\n');
    writeFileSync(created, 'x\n');
    const deadline = Date.now() + 10_000;
    // the revert removes its directory last: wait for that, not only for the restore command
    while ((!existsSync(join(root, 'restore-ran')) || existsSync(g.dir)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(kept, 'utf8')).toBe('before\n');
    expect(existsSync(created)).toBe(false);
    expect(existsSync(g.dir)).toBe(false);
  });

  it('a renewed lease holds the revert while the controller is alive; once renewals stop it reverts at the last deadline', async () => {
    const { root, kept, g } = setup(3);
    sh(armScript(g));
    writeFileSync(kept, 'after\n');
    // the controller renews every half second for 8 s: the 3 s timer fires meanwhile and must wait
    const until = Date.now() + 8_000;
    while (Date.now() < until) {
      expect(sh(renewScript(g)).trim()).toBe('renewed');
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(readFileSync(kept, 'utf8')).toBe('after\n');
    expect(existsSync(join(root, 'restore-ran'))).toBe(false);
    // the controller is gone: nobody renews, and the host reverts by itself (generous bound: a loaded machine)
    const stoppedAt = Date.now();
    while (existsSync(g.dir) && Date.now() < stoppedAt + 30_000) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(kept, 'utf8')).toBe('before\n');
    expect(existsSync(join(root, 'restore-ran'))).toBe(true);
    // a renewal after the revert changes nothing and says nothing was renewed
    expect(sh(renewScript(g)).trim()).toBe('');
  }, 60_000);

  it('an apply that outlived its controller is stopped before the revert, so it cannot finish writing afterwards', async () => {
    const { root, kept, g } = setup(2);
    // the apply, as the transport starts it (its run id in the environment): arm, a slow step, then the write
    const apply = spawn('/bin/sh', ['-c', `${armScript(g)}\nsleep 15\necho after > ${kept}`], { env: { ...process.env, SHIPSHAPE_RUN: 'run-under-test' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => apply.on('exit', (code, signal) => r(signal ? null : code)));
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(root, 'restore-ran')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await exited).toBeNull();
    await new Promise((r) => setTimeout(r, 6_000));
    expect(readFileSync(kept, 'utf8')).toBe('before\n');
  }, 60_000);

  it('a confirmed login disarms it: the change stays', async () => {
    const { root, kept, g } = setup(1);
    sh(armScript(g));
    writeFileSync(kept, 'after\n');
    sh(disarmScript(g));
    await new Promise((r) => setTimeout(r, 1800));
    expect(readFileSync(kept, 'utf8')).toBe('after\n');
    expect(existsSync(join(root, 'restore-ran'))).toBe(false);
  });

  it('a failed login reverts at once', () => {
    const { root, kept, g } = setup(60);
    sh(armScript(g));
    writeFileSync(kept, 'after\n');
    sh(revertNowScript(g));
    expect(readFileSync(kept, 'utf8')).toBe('before\n');
    expect(existsSync(join(root, 'restore-ran'))).toBe(true);
    // a confirmation arriving after the revert must not report the change as kept
    expect(() => sh(disarmScript(g))).toThrow(/automatic revert already ran/);
  });

  it('disarm and revert exclude each other: whoever claims first wins', () => {
    const { root, kept, g } = setup(60);
    sh(armScript(g));
    writeFileSync(kept, 'after\n');
    sh(disarmScript(g));
    // a revert started by a timer that fired just before the disarm finds nothing left to undo
    sh(`[ ! -f ${g.dir}/revert.sh ]`);
    sh(revertNowScript(g));
    expect(readFileSync(kept, 'utf8')).toBe('after\n');
    expect(existsSync(join(root, 'restore-ran'))).toBe(false);
  });

  it('restores a file the change deleted, and a directory', () => {
    const { root, kept, g } = setup(60);
    const dir = join(root, 'conf.d');
    sh(`mkdir ${dir} && echo a > ${dir}/a`);
    const g2: Guard = { ...g, paths: [kept, dir] };
    sh(armScript(g2));
    sh(`rm ${kept} && echo b > ${dir}/b && rm ${dir}/a`);
    sh(revertNowScript(g2));
    expect(readFileSync(kept, 'utf8')).toBe('before\n');
    expect(sh(`ls ${dir}`).trim()).toBe('a');
    expect(existsSync(g2.dir)).toBe(false);
  });
});
