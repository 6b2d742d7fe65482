import { probeLocally } from '../helpers/probe.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { checkStatus, plainCommand } from '../../../src/facts/command.js';

/** Run one probe the way the engine does (a batch script under /bin/sh) and parse its answer. */
describe('unless check status', () => {
  const dir = mkdtempSync(join(tmpdir(), "shipshape cmd 'q' "));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses the echoed status; no output counts as failure', () => {
    const p = checkStatus('true');
    expect(p.parse('0\n', 0)).toBe(0);
    expect(p.parse('3\n', 0)).toBe(3);
    expect(p.parse('', 1)).toBe(255);
  });

  it('names the question by command and directory', () => {
    expect(checkStatus('x', '/a').id).toBe(checkStatus('x', '/a').id);
    expect(checkStatus('x', '/a').id).not.toBe(checkStatus('x').id);
  });

  it('runs under /bin/sh with its output kept out of the answer', () => {
    expect(probeLocally(checkStatus("echo 'noise'; grep -q root /etc/passwd"))).toBe(0);
    expect(probeLocally(checkStatus('echo noise >&2; exit 3'))).toBe(3);
  });

  it('runs in chdir, and a missing chdir counts as the check failing', () => {
    expect(probeLocally(checkStatus(`[ "$(pwd)" = '${dir.replace(/'/g, `'\\''`)}' ]`, dir))).toBe(0);
    expect(probeLocally(checkStatus('true', join(dir, 'not yet')))).not.toBe(0);
  });
});

describe('an unless made of plain words runs without a shell of its own', () => {
  const plain = [
    'command -v docker',
    "awk '$5 < 3071 { bad = 1 } END { exit bad }' /etc/ssh/moduli",
    'test -f /etc/passwd',
    'grep -q root /etc/passwd',
    "grep -q 'no such user here' /etc/passwd",
    'false',
    'command -p -v awk',
    'shipshape-no-such-command --flag=1',
  ];
  const shell = [
    "! iptables -w -n -L ufw-user-input >/dev/null 2>&1 || grep -Eq '^### tuple' /etc/ufw/user.rules",
    'cd /tmp',
    'command cd /tmp',
    'X=1',
    'X=1 env',
    'exit 3',
    'echo $HOME',
    'ls /etc/*.conf',
    'true; false',
    `grep -q "root" /etc/passwd`,
    "grep -q 'a'b\\c /etc/passwd",
    'wait',
    'if true',
    '__ss_lock',
    'true\nfalse',
    'true # comment',
    '~/bin/check',
    'set -e',
    '. /etc/profile',
    '[ -f /etc/passwd ]',
    '',
  ];

  it('tells plain commands from those that need sh -c', () => {
    for (const c of plain) expect(plainCommand(c), c).toBe(true);
    for (const c of shell) expect(plainCommand(c), c).toBe(false);
    expect(checkStatus('command -v docker').script).not.toContain('sh -c');
    expect(checkStatus('cd /tmp').script).toContain('sh -c');
    // a chdir keeps its subshell and sh -c
    expect(checkStatus('command -v docker', '/tmp').script).toContain('sh -c');
  });

  it('answers what sh -c answers', () => {
    for (const c of plain) {
      const viaShell = spawnSync('/bin/sh', ['-c', `sh -c ${"'" + c.replace(/'/g, "'\\''") + "'"} >/dev/null 2>&1; echo $?`], { encoding: 'utf8' }).stdout.trim();
      expect(String(probeLocally(checkStatus(c))), c).toBe(viaShell);
    }
  });

  it("cannot read the batch's variables or change its state", () => {
    // the batch's shell has its own non-exported variables; a program run from it sees only the environment
    const p = checkStatus("awk 'BEGIN { exit (ENVIRON[\"__ss_secret\"] == \"\" ? 0 : 1) }'");
    const r = spawnSync('/bin/sh', ['-c', `__ss_secret=x\n${p.script}`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('0');
  });
});

