// Whose pids a no-op's fact script counts (scripts/bench/script-processes.ts): a real trace of one no-op on a
// provisioned Debian 13 lab host (strace -f on sshd's listener, dockerd and containerd), and small hand-made ones.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scriptProcessesLine } from '../../scripts/bench/report.js';
import { parseProcessTrace, scriptPids } from '../../scripts/bench/script-processes.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const attachedOf = (text: string) => new Map([...text.matchAll(/^@@attached (\d+) (\S+)$/gm)].map((m) => [Number(m[1]), m[2]]));

describe('the fact script traced on a provisioned Debian 13 host', () => {
  const pids = parseProcessTrace(fixture('bench-strace-trixie.txt'));
  const counted = scriptPids(pids, attachedOf(fixture('bench-strace-trixie.attached.txt')))!;

  it('counts the script shell\'s own tree, and not the login that started it', () => {
    expect(counted.own).toBe(26);
    expect(counted.ownThreads).toBe(0);
    // the two lanes (a subshell, and the right one ending as cat), every reader, and sudo -l's PAM helper
    expect(counted.commands.filter((c) => c === '(subshell)' || c === 'cat')).toEqual(['(subshell)', 'cat']);
    for (const c of ['dpkg-query', 'sshd', 'systemctl', 'curl', 'iptables', 'ip6tables', 'apt-config', 'openssl', 'unix_chkpwd']) expect(counted.commands).toContain(c);
    // sshd-session, sshd-auth, the motd scripts and sudo's own helpers ran before the script: not its own
    for (const c of ['sshd-session', 'sshd-auth', 'run-parts', 'uname', 'env', 'pam-tmpdir-helper']) expect(counted.commands).not.toContain(c);
    expect(counted.commands.filter((c) => c === 'unix_chkpwd')).toHaveLength(1);
  });

  it('gives dockerd the runc and docker-init it starts answering /info, with their threads', () => {
    expect(counted.others).toEqual({ dockerd: 6 });
    const runc = [...pids.values()].find((p) => p.execs.some((e) => e.endsWith('/runc')))!;
    expect(runc.thread).toBe(false);
    expect([...pids.values()].filter((p) => p.parent === runc.pid && p.thread).length).toBeGreaterThan(0);
  });

  it('says both counts in one line, and what the trace does not explain', () => {
    const line = scriptProcessesLine({ host: 'h200', ...counted, allocated: 32 });
    expect(line).toMatch(/^fact script's processes \(one no-op on h200 under strace, not timed\): 26 its own \(/);
    expect(line).toContain('getent x3');
    expect(line).toContain(', 6 by dockerd answering it; the script counted 32 pids allocated on the host, 0 of them outside the traced processes');
  });
});

describe('reading strace -f output', () => {
  it('joins a clone strace split, tells threads from processes, and drops failed execs', () => {
    const trace = [
      '10 1.000000 execve("/bin/sh", ["sh", "-s"], 0x1 /* 3 vars */) = 0',
      '10 1.100000 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>',
      '11 1.100100 execve("/usr/local/bin/ip", ["ip", "-o"], 0x2 /* 3 vars */) = -1 ENOENT (No such file or directory)',
      '11 1.100200 execve("/usr/bin/ip", ["ip", "-o"], 0x2 /* 3 vars */) = 0',
      '10 1.100300 <... clone resumed>, child_tidptr=0x7f) = 11',
      '11 1.200000 exit_group(0)                     = ?',
      '11 1.200001 +++ exited with 0 +++',
      '20 1.300000 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0, stack=0x7f}, 88) = 21',
      '10 1.400000 vfork() = 12',
      '12 1.400100 exit_group(1) = ?',
      '10 1.500000 exit_group(0) = ?',
      '20 1.600000 clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0, stack=0x7f}, 88) = 22',
    ].join('\n');
    const pids = parseProcessTrace(trace);
    expect(pids.get(11)).toMatchObject({ parent: 10, thread: false, execs: ['/usr/bin/ip'] });
    expect(pids.get(21)).toMatchObject({ parent: 20, thread: true });
    // 22 was created after the script's shell exited: nobody's answer to it
    expect(scriptPids(pids, new Map([[20, 'dockerd']]))).toEqual({ own: 2, ownThreads: 0, commands: ['(subshell)', 'ip'], others: { dockerd: 1 } });
  });

  it('finds no script where no shell ran `sh -s`', () => {
    expect(scriptPids(parseProcessTrace('5 1.0 execve("/bin/sh", ["sh", "-c", "true"], 0x1) = 0\n'), new Map())).toBeUndefined();
  });
});
