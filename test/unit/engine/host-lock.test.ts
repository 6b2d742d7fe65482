import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shq } from '../../../src/core/quote.js';
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

  it('the lock is tied to the nearest sshd session above the script: held while it lives, free once it is gone', () => {
    // a shell started under the name sshd stands for the session process sshd forks per connection
    const sshd = join(mkdtempSync(join(tmpdir(), 'ss-lock-sshd-')), 'sshd');
    symlinkSync('/bin/sh', sshd);
    sh(`rm -rf ${shq(dir)}`);
    const mine = lock('t7', 'a run by carol@laptop (pid 7)');
    // the session runs the acquiring script (a child, as sudo sh -s is), then asks a second run while it still lives
    const session = spawnSync(sshd, ['-c', `echo "$$"; /bin/sh -c ${shq(acquireScript(mine))}; /bin/sh -c ${shq(acquireScript(lock('t8', 'other', 0)))}; echo "held:$?"`], { encoding: 'utf8' });
    const [pid, acquired, refused, held] = session.stdout.trim().split('\n');
    expect(acquired).toBe('0 1');
    expect(refused).toMatch(/^a run by carol@laptop \(pid 7\)/);
    expect(held).toBe(`held:${LOCK_HELD}`);
    expect(readFileSync(join(dir, 'anchors'), 'utf8')).toMatch(new RegExp(`^${pid} \\d+\n$`));
    // the session ended (the connection closed): no release ran, and the next run takes the lock at once
    const next = sh(acquireScript(lock('t9', 'next', 0)));
    expect(next.status).toBe(0);
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe('t9\n');
    sh(releaseScript(lock('t9', 'next')));
  });
});
