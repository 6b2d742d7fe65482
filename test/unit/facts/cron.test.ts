import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { classifyCronLine, crontabLines, crontabOf, parseCrontabOutput } from '../../../src/facts/cron.js';

function probeLocally<T>(p: Probe<T>, path?: string): T {
  const nonce = newNonce();
  const batch = { probes: [p] };
  // the batch header sets its own PATH; a test PATH goes in front of it
  const script = renderBatch(batch, nonce).replace(/^(export PATH=.*)$/m, path ? `$1\nexport PATH=${path}:$PATH` : '$1');
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  const section = parseBatch(r.stdout, batch, nonce).probes.get(p.id)!;
  return p.parse(section.stdout, section.code);
}

/** A fake crontab(1) printing recorded output, so the probe's shell logic runs without cron installed. */
function fakeCrontab(stdout: string, stderr: string, code: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-crontab-'));
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(join(dir, 'crontab'), `#!/bin/sh\nprintf '%s' ${q(stdout)}\nprintf '%s\\n' ${q(stderr)} >&2\nexit ${code}\n`, { mode: 0o755 });
  return dir;
}

// crontab -l -u root on Debian 12, after `crontab -e` and an Ansible run
const ROOT_CRONTAB = `# Edit this file to introduce tasks to be run by cron.
#
# m h  dom mon dow   command
MAILTO=ops@example.com
PATH="/usr/local/bin:/usr/bin:/bin"
#Ansible: backup
0 3 * * * /usr/local/bin/backup.sh >/dev/null 2>&1
#shipshape: certbot
#17 */12 * * * certbot renew -q
@reboot /usr/local/bin/warmup

`;

describe('crontab probe', () => {
  it('parses the statuses', () => {
    expect(parseCrontabOutput(`status=ok\n${ROOT_CRONTAB}`)).toEqual({ status: 'ok', content: ROOT_CRONTAB });
    expect(parseCrontabOutput('status=none\n')).toEqual({ status: 'none', content: '' });
    expect(parseCrontabOutput('status=no-cron\n')).toEqual({ status: 'no-cron', content: '' });
    expect(parseCrontabOutput('status=unknown-user\n')).toEqual({ status: 'unknown-user', content: '' });
    expect(parseCrontabOutput('status=error\nmust be privileged to use -u\n')).toEqual({
      status: 'error',
      content: '',
      error: 'must be privileged to use -u',
    });
  });

  it.each([
    ['a crontab, trailing blank line kept', ROOT_CRONTAB, '', 0, { status: 'ok', content: ROOT_CRONTAB }],
    ['no crontab yet (exit 1)', '', 'no crontab for deploy', 1, { status: 'none', content: '' }],
    ['an unknown user', '', "crontab:  user `ghost' unknown", 1, { status: 'unknown-user', content: '' }],
    ['no privilege for -u', '', 'must be privileged to use -u', 1, { status: 'error', content: '', error: 'must be privileged to use -u' }],
  ])('reads %s from recorded crontab output', (_, stdout, stderr, code, expected) => {
    const dir = fakeCrontab(stdout, stderr, code);
    try {
      expect(probeLocally(crontabOf('deploy'), dir)).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('quotes a hostile user name', () => {
    const marker = `/tmp/shipshape-pwned-cron-${process.pid}`;
    const dir = fakeCrontab('', "crontab:  user `x' unknown", 1);
    try {
      expect(probeLocally(crontabOf(`x'; touch ${marker}; echo '$(touch ${marker})`), dir).status).toBe('unknown-user');
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers about root on this machine (cron installed or not)", () => {
    expect(['ok', 'none', 'no-cron']).toContain(probeLocally(crontabOf('root')).status);
    expect(['unknown-user', 'no-cron']).toContain(probeLocally(crontabOf('no-such-user-ss')).status);
  });
});

describe('crontab lines', () => {
  it('classifies markers of both tools, variables, active and disabled jobs, and the rest', () => {
    const kinds = crontabLines(ROOT_CRONTAB).map((l) => {
      const c = classifyCronLine(l);
      return c.kind === 'marker' ? `marker:${c.style}:${c.name}` : c.kind === 'env' ? `env:${c.name}` : c.kind === 'job' ? `job${c.disabled ? ':off' : ''}` : 'other';
    });
    expect(kinds).toEqual([
      'other',
      'other',
      'other', // the "# m h dom mon dow" header is prose, not a disabled job
      'env:MAILTO',
      'env:PATH',
      'marker:Ansible:backup',
      'job',
      'marker:shipshape:certbot',
      'job:off',
      'job',
      'other',
    ]);
  });

  it('keeps a marker name with spaces and the value of a variable', () => {
    expect(classifyCronLine('#shipshape: nightly db dump')).toEqual({ kind: 'marker', name: 'nightly db dump', style: 'shipshape' });
    expect(classifyCronLine('PATH="/usr/bin"')).toEqual({ kind: 'env', name: 'PATH', value: '"/usr/bin"' });
    expect(classifyCronLine('# FOO=bar').kind).toBe('other');
  });

  it('splits text into lines without a phantom last line', () => {
    expect(crontabLines('')).toEqual([]);
    expect(crontabLines('a\nb\n')).toEqual(['a', 'b']);
    expect(crontabLines('a\nb')).toEqual(['a', 'b']);
  });
});
