import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostLink } from '../../../src/engine/host-link.js';
import { fileLoginMemory, memoryLoginMemory } from '../../../src/engine/login-memory.js';
import { RecordingTransport, okResult, recordingSpec } from '../../../src/transport/recording.js';
import { UnreachableError, type ConnectionSpec } from '../../../src/transport/types.js';

const spec: ConnectionSpec = { ...recordingSpec('web1'), host: '192.0.2.7', user: 'deploy', bootstrapUser: 'root' };

/** A host where only root may log in, and `deploy` exists once `created` is set; counts logins per user. */
function host() {
  const state = { created: false, logins: [] as string[] };
  const make = (s: ConnectionSpec) => {
    const t = new RecordingTransport((script) => (script.startsWith('id -u') ? { stdout: '', stderr: '', code: state.created ? 0 : 1 } : okResult()), s);
    t.connect = async () => {
      state.logins.push(s.user);
      if (s.user !== 'root') throw new UnreachableError(s.name, `authentication failed for user ${s.user}`, undefined, 'auth');
    };
    return t;
  };
  return { state, make };
}

describe('a host that needed bootstrap_user last time', () => {
  it('is not sent a refused login as the missing user again, until that user exists', async () => {
    const memory = memoryLoginMemory();
    const { state, make } = host();
    const first = new HostLink(spec, make, async () => undefined, memory);
    await first.open();
    expect(state.logins).toEqual(['deploy', 'root']);
    expect(first.onBootstrap).toBe(true);

    state.logins = [];
    const second = new HostLink(spec, make, async () => undefined, memory);
    await second.open();
    // straight to root: no refused login as deploy for sshd's log and fail2ban
    expect(state.logins).toEqual(['root']);
    expect(second.onBootstrap).toBe(true);
    expect(second.notes.join()).toMatch(/deploy does not exist on 192\.0\.2\.7 yet; connected as bootstrap_user root without trying deploy/);

    // once deploy exists, the normal order again (the user may log in by now)
    state.created = true;
    state.logins = [];
    await new HostLink(spec, make, async () => undefined, memory).open();
    expect(state.logins).toEqual(['root', 'deploy', 'root']);
    expect(memory.keys.size).toBe(1);
  });

  it('a fresh VPS refusing both logins: the hint is about the bootstrap login, the one the first run needs', async () => {
    const make = (s: ConnectionSpec) => {
      const t = new RecordingTransport([], s);
      t.connect = async () => {
        throw new UnreachableError(s.name, `authentication failed for user ${s.user}`, `install it with ssh-copy-id ${s.user}@192.0.2.7`, 'auth');
      };
      return t;
    };
    const err = await new HostLink(spec, make, async () => undefined).open().catch((e: UnreachableError) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as UnreachableError).message).toBe('authentication failed for user deploy; and as bootstrap_user root: authentication failed for user root');
    expect((err as UnreachableError).hint).toBe('install it with ssh-copy-id root@192.0.2.7 (until a first run has created deploy, it logs in as root)');
  });

  it('is forgotten once a run confirms a login as the inventory user', async () => {
    const memory = memoryLoginMemory();
    const { make } = host();
    const link = new HostLink(spec, make, async () => undefined, memory);
    await link.open();
    expect(memory.keys.size).toBe(1);
    await link.switchTo(new RecordingTransport([], spec));
    expect(memory.keys.size).toBe(0);
  });

  it('is kept in a private file of the controller user', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ss-mem-')), 'state', 'logins.json');
    const m = fileLoginMemory(file);
    await Promise.all([m.remember(spec), m.remember({ ...spec, host: '192.0.2.8' })]);
    expect(await m.needsBootstrap(spec)).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')))).toHaveLength(2);
    await m.forget(spec);
    expect(await fileLoginMemory(file).needsBootstrap(spec)).toBe(false);
  });
});

describe('an inventory written the Ansible way (user: root, no bootstrap_user)', () => {
  it('when our own change turns root login off, the failed confirmation says so and what to write instead', async () => {
    const rootSpec: ConnectionSpec = { ...recordingSpec('web1'), host: '192.0.2.7', user: 'root' };
    let logins = 0;
    const make = (s: ConnectionSpec) => {
      const t = new RecordingTransport((script) => (script.includes('sshd -T') ? okResult('permitrootlogin no\n') : okResult()), s);
      t.connect = async () => {
        if (logins++ > 0) throw new UnreachableError(s.name, 'authentication failed for user root', 'make sure one of these keys is in ~root/.ssh/authorized_keys', 'auth');
      };
      return t;
    };
    const link = new HostLink(rootSpec, make, async () => undefined);
    await link.open();
    const r = await link.confirm(undefined, true, Date.now() + 5_000);
    expect(r.ok).toBe(false);
    const why = (r as { why: string }).why;
    expect(why).toMatch(/it sets PermitRootLogin no, so root, the inventory's user for web1, cannot log in after it/);
    expect(why).toMatch(/write `user: deploy`.*`bootstrap_user: root`/);
    expect(why).not.toMatch(/authorized_keys/);
  });
});
