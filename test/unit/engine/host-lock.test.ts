import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shq } from '../../../src/core/quote.js';
import { acquireScript, LOCK_HELD, refreshScript, releaseScript, type HostLock } from '../../../src/engine/host-lock.js';

const sh = (script: string, env: NodeJS.ProcessEnv = process.env) => spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env });

/** Seconds since boot, the lock's clock. */
const uptime = () => Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]));

/** The lock's last activity `sec` seconds ago (what a refresh writes). */
const idleFor = (dir: string, sec: number) => writeFileSync(join(dir, 'seen'), `${uptime() - sec}\n`);

/**
 * A PATH whose every external command the lock may use logs its name before running the real one: the
 * processes a script starts, counted without timing anything.
 */
function loggedPath(): { env: NodeJS.ProcessEnv; started: () => string[] } {
  const bin = mkdtempSync(join(tmpdir(), 'ss-lock-bin-'));
  const log = join(bin, 'log');
  writeFileSync(log, '');
  for (const cmd of ['mkdir', 'stat', 'date', 'rm', 'rmdir', 'sleep', 'touch', 'cat']) {
    writeFileSync(join(bin, cmd), `#!/bin/sh\necho ${cmd} >> ${shq(log)}\nexec /usr/bin/env PATH=/usr/bin:/bin ${cmd} "$@"\n`);
    chmodSync(join(bin, cmd), 0o755);
  }
  return { env: { ...process.env, PATH: bin }, started: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

/** Runs the scripts at the same moment (each spins on a start file with builtins until it appears); their exit statuses. */
async function race(scripts: string[]): Promise<number[]> {
  const go = join(mkdtempSync(join(tmpdir(), 'ss-lock-go-')), 'go');
  const ready = join(go + '.ready');
  mkdirSync(ready);
  const codes = scripts.map(
    (s, i) =>
      new Promise<number>((res) => {
        const p = spawn('/bin/sh', ['-c', `printf '' > ${shq(join(ready, String(i)))}; while [ ! -e ${shq(go)} ]; do :; done\n${s}`], { stdio: 'ignore' });
        p.once('exit', (code) => res(code ?? -1));
      }),
  );
  while (readdirSync(ready).length < scripts.length) await new Promise((r) => setTimeout(r, 10));
  writeFileSync(go, '');
  return Promise.all(codes);
}

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
    idleFor(dir, 120);
    expect(sh(acquireScript(lock('t4', 'new run'))).status).toBe(0);
    // the dead run's refresh no longer touches it (the token is not its own)
    idleFor(dir, 120);
    sh(refreshScript(dead));
    expect(sh(acquireScript(lock('t5', 'third run'))).status).toBe(0);
    const live = lock('t5', 'third run');
    idleFor(dir, 120);
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

  /** A lock left by a run whose connection is gone: its anchor is a process that no longer exists. */
  function deadRunsLock(token: string) {
    sh(`rm -rf ${shq(dir)}`);
    expect(sh(acquireScript(lock(token, 'a run by dave@laptop (pid 3)'))).status).toBe(0);
    const gone = spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(dir, 'anchors'), `${gone} 1\n`);
  }

  it('taking over the lock a finished run left behind starts no process; only the first run after a boot makes the folder', () => {
    sh(`rm -rf ${shq(dir)}`);
    const first = loggedPath();
    expect(sh(acquireScript(lock('a1', 'first')), first.env).status).toBe(0);
    expect(first.started()).toEqual(['mkdir']);
    deadRunsLock('a2');
    const next = loggedPath();
    const r = sh(acquireScript(lock('a3', 'next', 0)), next.env);
    expect(r.status, r.stdout).toBe(0);
    expect(next.started()).toEqual([]);
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe('a3\n');
    expect(readFileSync(join(dir, 'holder'), 'utf8')).toBe('next\n');
    // no anchor here (no sshd above the script): the dead run's anchors are not kept as this run's
    expect(readFileSync(join(dir, 'anchors'), 'utf8')).toBe('');
    // and its refresh starts none either
    const refresh = loggedPath();
    sh(refreshScript(lock('a3', 'next')), refresh.env);
    expect(refresh.started()).toEqual([]);
    expect(Number(readFileSync(join(dir, 'seen'), 'utf8'))).toBeGreaterThanOrEqual(uptime() - 1);
  });

  it('runs racing for a free lock: exactly one takes it, whether the folder is new or left by a dead run', async () => {
    for (let round = 0; round < 4; round++) {
      if (round % 2 === 0) sh(`rm -rf ${shq(dir)}`);
      else deadRunsLock(`r${round}`);
      const codes = await race(Array.from({ length: 6 }, (_, i) => acquireScript(lock(`race${round}-${i}`, `run ${i}`, 0))));
      expect(codes.filter((c) => c === 0), `round ${round}: ${codes}`).toHaveLength(1);
      expect(codes.filter((c) => c === LOCK_HELD)).toHaveLength(5);
      const winner = codes.indexOf(0);
      expect(readFileSync(join(dir, 'token'), 'utf8')).toBe(`race${round}-${winner}\n`);
    }
  });

  it('a claim whose run died before writing its token is passed after 10 s; a fresh one means a run is taking it now', () => {
    deadRunsLock('w1');
    // a run claimed the turn after w1 just now and is writing its files
    writeFileSync(join(dir, 'claim.w1'), `${uptime()}\n`);
    expect(sh(acquireScript(lock('w2', 'second', 0))).status).toBe(LOCK_HELD);
    // that run died right after its claim
    writeFileSync(join(dir, 'claim.w1'), `${uptime() - 30}\n`);
    expect(sh(acquireScript(lock('w3', 'third', 0))).status).toBe(0);
    expect(existsSync(join(dir, 'claim.w1+'))).toBe(true);
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe('w3\n');
  });

  it('claims of past turns are cleaned up once there are more than a few', () => {
    deadRunsLock('c0');
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `claim.old${i}`), '1\n');
    expect(sh(acquireScript(lock('c1', 'next', 0))).status).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('claim.'))).toEqual([]);
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe('c1\n');
  });

  it('a lock written by an older shipshape (no seen file) is judged by its holder file mtime, as that version did', () => {
    sh(`rm -rf ${shq(dir)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'holder'), 'a run by eve@elsewhere (pid 42)\n');
    writeFileSync(join(dir, 'token'), 'other\n');
    const held = sh(acquireScript(lock('o1', 'mine', 0)));
    expect(held.status).toBe(LOCK_HELD);
    expect(held.stdout).toMatch(/^a run by eve@elsewhere \(pid 42\) \(last active \d+s ago\)/);
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(dir, 'holder'), old, old);
    expect(sh(acquireScript(lock('o1', 'mine', 0))).status).toBe(0);
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe('o1\n');
  });

  it('refuses to write through a link: the lock folder or its parent a symlink is an error, not a lock', () => {
    const root = mkdtempSync(join(tmpdir(), 'ss-lock-link-'));
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync(join(root, 'elsewhere'), join(root, 'parent'));
    const viaParent = sh(acquireScript({ dir: join(root, 'parent', 'lock'), token: 'l1', holder: 'x', waitSec: 0, staleSec: 60 }));
    expect(viaParent.status).toBe(1);
    expect(viaParent.stdout).toMatch(/is a link or not the running user's/);
    symlinkSync(join(root, 'elsewhere'), join(root, 'lock'));
    const viaLock = sh(acquireScript({ dir: join(root, 'lock'), token: 'l2', holder: 'x', waitSec: 0, staleSec: 60 }));
    expect(viaLock.status).toBe(1);
    expect(readdirSync(join(root, 'elsewhere'))).toEqual([]);
  });
});
