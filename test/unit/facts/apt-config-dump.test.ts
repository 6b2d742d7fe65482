import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APT_CONFIG_DUMP } from '../../../src/facts/apt_config.js';

/**
 * apt-config's dump without its dpkg child (issue 15): the arguments the host's apt-config gets, with and without
 * dpkg's own architecture list. That the dump is the same either way is shown on real hosts (fact-script.test.ts e2e).
 */
function argsOf(dpkgArch: 'none' | 'file' | 'link'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-aptc-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dpkg'));
  writeFileSync(join(dir, 'bin', 'apt-config'), `#!/bin/sh\necho "$*" > ${join(dir, 'args')}\n`, { mode: 0o755 });
  if (dpkgArch === 'file') writeFileSync(join(dir, 'dpkg', 'arch'), 'amd64\ni386\n');
  if (dpkgArch === 'link') spawnSync('ln', ['-s', '/nonexistent', join(dir, 'dpkg', 'arch')]);
  const script = APT_CONFIG_DUMP.replaceAll('/var/lib/dpkg/', `${join(dir, 'dpkg')}/`);
  const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` } });
  expect(r.status).toBe(0);
  return readFileSync(join(dir, 'args'), 'utf8').trim();
}

describe('apt-config dump', () => {
  it('gives apt a non-empty architecture list (an empty entry apt drops) so it asks dpkg nothing', () => {
    expect(argsOf('none')).toBe('-o APT::Architectures::= dump');
  });

  it('lets apt ask dpkg where dpkg keeps an architecture list (foreign architectures), even a dangling link', () => {
    expect(argsOf('file')).toBe('dump');
    expect(argsOf('link')).toBe('dump');
  });
});
