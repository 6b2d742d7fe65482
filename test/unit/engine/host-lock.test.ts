import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireScript, LOCK_HELD, refreshScript, releaseScript, type HostLock } from '../../../src/engine/host-lock.js';

const sh = (script: string) => spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });

describe('host-wide run lock (scripts run for real through /bin/sh, in a scratch directory)', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'ss-lock-')), 'lock');
  const lock = (token: string, holder: string, waitSec = 1): HostLock => ({ dir, token, holder, waitSec, staleSec: 60 });

  it('a second run waits (bounded), then refuses naming the holder; after release it gets the lock', () => {
    const first = lock('t1', 'a run by alice@laptop (pid 1)');
    expect(sh(acquireScript(first)).status).toBe(0);
    const second = sh(acquireScript(lock('t2', 'a run by bob@ci (pid 2)')));
    expect(second.status).toBe(LOCK_HELD);
    expect(second.stdout).toMatch(/a run by alice@laptop \(pid 1\) \(last active \d+s ago\)/);
    // only the holder's token releases it
    expect(sh(releaseScript(lock('t2', 'bob'))).status).toBe(0);
    expect(existsSync(dir)).toBe(true);
    expect(sh(releaseScript(first)).status).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(sh(acquireScript(lock('t2', 'bob'))).status).toBe(0);
    sh(releaseScript(lock('t2', 'bob')));
  });

  it("a dead holder's lock (no activity for staleSec) is taken over; a live holder's refresh keeps it", () => {
    const dead = lock('t3', 'dead run');
    expect(sh(acquireScript(dead)).status).toBe(0);
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(dir, 'holder'), old, old);
    expect(sh(acquireScript(lock('t4', 'new run'))).status).toBe(0);
    // the dead run's refresh no longer touches it (the token is not its own)
    utimesSync(join(dir, 'holder'), old, old);
    sh(refreshScript(dead));
    expect(sh(acquireScript(lock('t5', 'third run'))).status).toBe(0);
    const live = lock('t5', 'third run');
    utimesSync(join(dir, 'holder'), old, old);
    sh(refreshScript(live));
    expect(sh(acquireScript(lock('t6', 'fourth'))).status).toBe(LOCK_HELD);
    sh(releaseScript(live));
  });
});
