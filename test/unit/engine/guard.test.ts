import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { armScript, disarmScript, revertNowScript, type Guard } from '../../../src/engine/guard.js';

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
    while (!existsSync(join(root, 'restore-ran')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(kept, 'utf8')).toBe('before\n');
    expect(existsSync(created)).toBe(false);
    expect(existsSync(g.dir)).toBe(false);
  });

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
    sh(disarmScript(g));
  });
});
