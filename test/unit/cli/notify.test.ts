import { describe, expect, it } from 'vitest';
import { driftNotice, notifyUrl, sendNotice } from '../../../src/cli/notify.js';
import { summarize, type TaskResult } from '../../../src/core/result.js';

const task = (name: string, status: TaskResult['status'], drift?: TaskResult['drift']): TaskResult => ({
  name,
  role: 'ssh',
  module: 'sshd_config',
  status,
  reason: 'r',
  diff: [],
  commands: [],
  durationMs: 1,
  ...(drift ? { drift } : {}),
});

describe('check --notify', () => {
  it('nothing to send for a clean run', () => {
    expect(driftNotice({ hosts: { h1: summarize('h1', [task('a', 'ok')]) } })).toBeUndefined();
  });

  it('one short summary naming hosts, tasks, what and where', () => {
    const d = { what: 'passwordauthentication "yes" is in effect', why: 'w', where: '/etc/ssh/sshd_config.d/00-aaa.conf:1', fix: 'f' };
    const n = driftNotice({ hosts: { h1: summarize('h1', [task('sshd hardened settings', 'changed', [d])]), h2: summarize('h2', [task('a', 'ok')]) } })!;
    expect(n.title).toBe('shipshape: drift on h1 (1 difference)');
    expect(n.hosts).toEqual({ h1: [{ task: 'ssh | sshd hardened settings', what: d.what, where: d.where }] });
    expect(n.text).toContain('h1: ssh | sshd hardened settings: passwordauthentication "yes" is in effect [/etc/ssh/sshd_config.d/00-aaa.conf:1]');
    expect(n.message).toBe(n.text.slice(n.title.length + 1));
  });

  it('refuses a URL that is not http(s) before anything runs', () => {
    expect(() => notifyUrl('ntfy.sh/topic')).toThrow(/http\(s\) URL/);
    expect(() => notifyUrl('file:///etc/passwd')).toThrow(/http\(s\) URL/);
    expect(notifyUrl('https://ntfy.sh/topic')).toBe('https://ntfy.sh/topic');
  });

  it('posts JSON with a Title header; a failure is a message, never a throw', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const ok = (async (url: string, init: RequestInit) => (calls.push({ url, init }), new Response('ok'))) as unknown as typeof fetch;
    const n = driftNotice({ hosts: { h1: summarize('h1', [task('t', 'changed')]) } })!;
    expect(await sendNotice('https://x.test/hook', n, ok)).toBeUndefined();
    expect(calls[0].init.method).toBe('POST');
    expect((calls[0].init.headers as Record<string, string>).Title).toBe(n.title);
    expect(JSON.parse(calls[0].init.body as string).drifted).toBe(true);
    const down = (async () => new Response('no', { status: 503, statusText: 'Service Unavailable' })) as unknown as typeof fetch;
    expect(await sendNotice('https://x.test/hook', n, down)).toBe('the notify URL answered 503 Service Unavailable');
    const dead = (async () => {
      throw new Error('ECONNREFUSED');
    }) as unknown as typeof fetch;
    expect(await sendNotice('https://x.test/hook', n, dead)).toMatch(/ECONNREFUSED/);
  });
});
