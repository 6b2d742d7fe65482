/**
 * `check_mode` on a task, with Ansible's meaning where shipshape's read-only check allows it: a command
 * declared read-only (`changed_when: false`) with `check_mode: false` runs during check, so what later
 * tasks decide from its output is predicted from its real output; anything that could change the host
 * during check is refused before connecting, with the reason.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHost } from '../../../src/engine/host-run.js';
import type { PlayInstance } from '../../../src/engine/types.js';
import { LocalTransport } from '../../../src/transport/local.js';
import type { ConnectionSpec } from '../../../src/transport/types.js';
import { expand } from './helpers.js';

const spec: ConnectionSpec = { name: 'local', host: 'localhost', port: 22, user: 'root', knownHostsFiles: [], acceptNewHostKeys: false, connectTimeoutMs: 5000, kind: 'local' };

async function run(plays: PlayInstance[], check: boolean) {
  const t = new LocalTransport(spec);
  return runHost(spec, () => t, plays, { check, forks: 1, guardTimeoutSec: 30 }, () => undefined);
}

describe('check_mode on a task', () => {
  it('check_mode: false on a read-only command runs it in check; its output decides the next task; other commands still do not run', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ss-checkmode-'));
    const { plays } = await expand({
      'site.yml': [
        '- hosts: all',
        `  vars: { out: ${JSON.stringify(out)} }`,
        '  tasks:',
        '    - name: read a value',
        '      command: echo green',
        '      register: colour',
        '      changed_when: false',
        '      check_mode: false',
        '    - name: only when green',
        '      copy: { dest: "{{ out }}/green", content: "{{ colour.stdout }}" }',
        '      when: colour.stdout == "green"',
        '    - name: an ordinary command',
        '      command: touch {{ out }}/touched',
        '    - name: stat is read-only anyway',
        '      stat: { path: "{{ out }}" }',
        '      check_mode: false',
        '      register: st',
        '    - assert: { that: st.stat.isdir }',
        '',
      ].join('\n'),
    });
    const r = await run(plays, true);
    const by = Object.fromEntries(r.tasks.map((t) => [t.name, t]));
    expect(by['read a value'].status).toBe('ok');
    expect(by['only when green'].status).toBe('changed'); // would change: predicted from the real output
    expect(by['an ordinary command'].status).toBe('skipped');
    expect(r.failed).toBe(0);
    expect(existsSync(join(out, 'green'))).toBe(false);
    expect(existsSync(join(out, 'touched'))).toBe(false);
  });

  it('refused before connecting where check could change the host, with the reason and what to write', async () => {
    const task = (t: string) => expand({ 'site.yml': `- hosts: all\n  tasks:\n${t}` });
    await expect(task('    - command: touch /x\n      check_mode: false\n')).rejects.toMatchObject({ line: 4, message: expect.stringMatching(/`check_mode: false` on `command` is not supported/), hint: expect.stringMatching(/changed_when: false/) });
    await expect(task('    - copy: { dest: /x, content: y }\n      check_mode: no\n')).rejects.toMatchObject({ message: expect.stringMatching(/never changes a host/) });
    await expect(task('    - copy: { dest: /x, content: y }\n      check_mode: yes\n')).rejects.toMatchObject({ message: expect.stringMatching(/`check_mode: true` on `copy` is not supported/) });
    await expect(task('    - block:\n        - debug: msg=x\n      check_mode: false\n')).rejects.toMatchObject({ message: expect.stringMatching(/`check_mode` is not supported/) });
    // read-only modules: accepted either way, nothing changes
    await expect(task('    - debug: msg=x\n      check_mode: yes\n')).resolves.toBeDefined();
  });
});
