import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderBatch } from '../../../src/core/script.js';
import { run, sh } from '../../../src/core/step.js';

/** The batch as the host's dash runs it. */
function runOnThisMachine(steps: Parameters<typeof renderBatch>[0]['apply'] extends infer A ? (A extends { steps: infer S } ? S : never) : never): string {
  return execFileSync('/bin/sh', ['-c', renderBatch({ apply: { steps }, probes: [] } as never, 'n0nce')], { encoding: 'utf8' });
}

describe("a task's steps", () => {
  it('a fragment that ends early with exit 0 does not skip the steps after it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-steps-'));
    // the shape of apt's "dpkg interrupted?" check: nothing to repair, so the fragment exits 0
    const out = runOnThisMachine([sh('[ -n "" ] || exit 0\necho repaired', 'repair if needed'), run(['touch', join(dir, 'installed')])]);
    expect(existsSync(join(dir, 'installed'))).toBe(true);
    expect(out).not.toContain('repaired');
    expect(out).toMatch(/end:apply:0\n?:0/);
  });

  it('a fragment that fails still fails the task and stops it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-steps-'));
    const out = runOnThisMachine([sh('exit 3', 'fails'), run(['touch', join(dir, 'after')])]);
    expect(existsSync(join(dir, 'after'))).toBe(false);
    expect(out).toMatch(/end:apply:0\n?:3/);
  });
});
