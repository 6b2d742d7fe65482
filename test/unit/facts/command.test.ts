import { probeLocally } from '../helpers/probe.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { checkStatus } from '../../../src/facts/command.js';

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
