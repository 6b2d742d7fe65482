// The steps of one apt task run in ONE subshell (core/script.ts): a step that ends it early (`exit 0`) would
// skip the install after it while the task still reports "changed". Run them as the batch does, with stubs.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderStep } from '../../../src/core/step.js';
import { planFor } from '../helpers/plan.js';

function runTaskSteps(audit: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'ss-unit-apt-'));
  const log = join(dir, 'calls');
  writeFileSync(log, '');
  const stub = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  stub('dpkg', `[ "$1" = --audit ] && printf '%s' '${audit}'; exit 0`);
  stub('apt-get', 'exit 0');
  const p = planFor('apt', { name: 'tree' }, { packages: { available: true, entries: [] } });
  const script = `(\nset -e\n${p.steps.map(renderStep).join('\n')}\n)`;
  execFileSync('dash', ['-c', script], { env: { PATH: `${dir}:/usr/bin:/bin` } });
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ').slice(0, 2).join(' '));
}

describe('apt task steps, run as one batch', () => {
  it('install runs after the interrupted-dpkg check when dpkg is clean', () => {
    expect(runTaskSteps('')).toEqual(['dpkg --audit', 'apt-get -o']);
  });

  it('an interrupted dpkg is configured first, then the install runs', () => {
    expect(runTaskSteps('The following packages are only half configured')).toEqual(['dpkg --audit', 'dpkg --force-confdef', 'apt-get -o']);
  });
});
