import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PrepareContext } from '../../../src/core/module.js';
import { describeStep, renderStep, type Step } from '../../../src/core/step.js';
import { normalizeFingerprint, readArmoredKey, sourceFetch } from '../../../src/facts/apt_repository.js';
import { parseStatLine, type FileContent, type FileStat } from '../../../src/facts/file.js';
import aptRepository, { renderSources, updateScript } from '../../../src/modules/apt_repository.js';
import { DOCKER_APT_FINGERPRINT, DOCKER_APT_KEY } from '../../../roles/docker/docker-key.js';
import { validateModuleArgs } from '../../../src/playbook/args.js';
import { debian12, planFor, sshAccess } from '../helpers/plan.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const file = (text: string, mode = '644'): FileContent => ({ ...parseStatLine(`regular file|${mode}|root|root|${text.length}`), sha256: sha(text), content: text });
const absent: FileContent = { exists: false };
const dir: FileStat = parseStatLine('directory|755|root|root|4096');
const none: FileStat = { exists: false };

const DOCKER = { name: 'docker', uris: 'https://download.docker.com/linux/debian', components: ['stable'], key: DOCKER_APT_KEY, key_fingerprint: DOCKER_APT_FINGERPRINT };
const SOURCES = [
  '# managed by shipshape (apt_repository)',
  'Types: deb',
  'URIs: https://download.docker.com/linux/debian',
  'Suites: bookworm',
  'Components: stable',
  'Signed-By: /etc/apt/keyrings/docker.asc',
  '',
].join('\n');

const STAMP = sha(`${SOURCES}\0${DOCKER_APT_KEY}`);
const fresh = { sources: absent, key: absent, legacy: none, keyrings: dir, fetched: { indexed: false } };
const done = { sources: file(SOURCES), key: file(DOCKER_APT_KEY), legacy: none, keyrings: dir, fetched: { stamp: STAMP, indexed: true } };
const UPDATE = ['apt-get update of /etc/apt/sources.list.d/docker.sources only', 'note the successful fetch in /var/lib/shipshape/apt_repository/docker.fetched'];
const described = (steps: Step[]) => steps.map(describeStep);

describe('OpenPGP key blocks, read without gpg', () => {
  it("computes the v4 fingerprint Docker documents for its key, and the signing subkey's", () => {
    const k = readArmoredKey(DOCKER_APT_KEY);
    expect(k.primary).toEqual(['9DC858229FC7DD38854AE2D88D81803C0EBFCD88']);
    expect(k.subkeys).toHaveLength(1);
  });

  it('accepts indentation and armor headers, as keys pasted into YAML have them', () => {
    const withHeader = DOCKER_APT_KEY.replace('-----\n\n', '-----\nComment: pasted\n\n')
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
    expect(readArmoredKey(withHeader).primary).toEqual([DOCKER_APT_FINGERPRINT]);
  });

  it('refuses a damaged copy (checksum), a private key, and text that is no key', () => {
    const lines = DOCKER_APT_KEY.split('\n');
    lines[5] = lines[5].slice(0, 10) + (lines[5][10] === 'A' ? 'B' : 'A') + lines[5].slice(11);
    expect(() => readArmoredKey(lines.join('\n'))).toThrow(/checksum/);
    expect(() => readArmoredKey('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----')).toThrow(/PRIVATE/);
    expect(() => readArmoredKey('https://download.docker.com/linux/debian/gpg')).toThrow(/ASCII-armored/);
  });

  it('normalizes fingerprints as people write them', () => {
    expect(normalizeFingerprint('9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88')).toBe(DOCKER_APT_FINGERPRINT);
    expect(normalizeFingerprint('0x9dc858229fc7dd38854ae2d88d81803c0ebfcd88')).toBe(DOCKER_APT_FINGERPRINT);
  });
});

describe('the fetch probe', () => {
  const probe = sourceFetch('/etc/apt/sources.list.d/docker.sources', '/var/lib/shipshape/apt_repository/docker.fetched');
  it('reads the stamp of the last successful fetch and whether apt has index files for the source', () => {
    expect(probe.parse('abc123\n/var/lib/apt/lists/download.docker.com_linux_debian_dists_bookworm_stable_binary-amd64_Packages\n', 0)).toEqual({ stamp: 'abc123', indexed: true });
    expect(probe.parse('\n', 0)).toEqual({ indexed: false });
    expect(probe.parse('', 0)).toEqual({ indexed: false });
  });

  it('takes every index file apt lists (one a line), in one process: no pipe into head', () => {
    const lists = ['binary-amd64_Packages', 'i18n_Translation-en', 'Contents-amd64'].map((t) => `/var/lib/apt/lists/download.docker.com_linux_debian_dists_bookworm_stable_${t}`);
    expect(probe.parse(`abc123\n${lists.join('\n')}\n`, 0)).toEqual({ stamp: 'abc123', indexed: true });
    expect(probe.parse('\n\n', 0)).toEqual({ indexed: false });
    expect(probe.script).toContain('apt-get indextargets -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/docker.sources ');
    expect(probe.script).not.toMatch(/\|/);
  });
});

describe('apt_repository arguments', () => {
  const parse = (a: unknown) => aptRepository.schema.safeParse(a);

  it('refuses a key whose fingerprint is not the expected one, before any host is contacted', () => {
    const r = parse({ ...DOCKER, key_fingerprint: '0000 0000 0000 0000 0000 0000 0000 0000 0000 0000' });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/its fingerprint is 9DC858229FC7DD38854AE2D88D81803C0EBFCD88, not the expected 0{40}/);
  });

  it('refuses a key URL (hosts do not download keys), two key sources, and values that would inject deb822 fields', () => {
    expect(parse({ ...DOCKER, key: 'https://download.docker.com/linux/debian/gpg' }).success).toBe(false);
    expect(parse({ ...DOCKER, signed_by: '/usr/share/keyrings/x.gpg' }).success).toBe(false);
    expect(parse({ name: 'x', uris: 'https://a.example/debian\nTrusted: yes' }).success).toBe(false);
    expect(parse({ name: 'x', uris: 'https://a.example/debian', suites: ['stable', 'x#y'] }).success).toBe(false);
    expect(parse({ name: '../x', uris: 'https://a.example/debian' }).success).toBe(false);
    expect(parse({ name: 'x' }).success).toBe(false);
    expect(parse({ name: 'x', state: 'absent' }).success).toBe(true);
  });

  it('points errors at the argument, and leaves `{{ templates }}` to be checked after rendering', () => {
    const at = { file: 'play.yml', line: 3, column: 5 };
    const bad = validateModuleArgs(aptRepository, { name: 'x', uris: 'ftp://a.example/debian' }, { module: 'apt_repository', at });
    expect(bad.ok || bad.errors.map((e) => e.message)).toEqual(['bad value for argument `uris` of `apt_repository`: "ftp://a.example/debian" is not a repository URI such as https://download.docker.com/linux/debian']);
    const templated = validateModuleArgs(aptRepository, { name: 'x', uris: '{{ repo_uri }}', suites: '{{ suite }}' }, { module: 'apt_repository', at, skipTemplated: true });
    expect(templated.ok).toBe(true);
  });
});

describe('apt_repository plans', () => {
  it('on a fresh host: key, then the .sources file pointing at it, then an update of this source only', () => {
    const p = planFor('apt_repository', DOCKER, fresh);
    expect(described(p.steps)).toEqual([
      'write /etc/apt/keyrings/docker.asc mode 0644 owner root',
      'write /etc/apt/sources.list.d/docker.sources mode 0644 owner root',
      ...UPDATE,
    ]);
    expect((p.steps[1] as Extract<Step, { kind: 'write' }>).content).toBe(SOURCES);
    expect(p.reason).toBe('add the key /etc/apt/keyrings/docker.asc; add /etc/apt/sources.list.d/docker.sources; fetch its index');
    // a key diff names fingerprints, not base64
    expect(p.diff?.[0]).toEqual({ subject: '/etc/apt/keyrings/docker.asc', before: '', after: `fingerprint ${DOCKER_APT_FINGERPRINT}\n` });
  });

  it('the suite defaults to the host release codename', () => {
    const p = planFor('apt_repository', DOCKER, fresh, { osCodename: 'trixie', osVersion: '13' });
    expect((p.steps[1] as Extract<Step, { kind: 'write' }>).content).toMatch(/^Suites: trixie$/m);
  });

  it('does nothing when key, file and index are in place, and says so', () => {
    const p = planFor('apt_repository', DOCKER, done);
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('/etc/apt/sources.list.d/docker.sources as declared, signed by /etc/apt/keyrings/docker.asc, index fetched');
  });

  it('fetches again when the last fetch of this declaration failed (index files of an older key do not count)', () => {
    const p = planFor('apt_repository', DOCKER, { ...done, fetched: { stamp: 'of-an-older-declaration', indexed: true } });
    expect(described(p.steps)).toEqual(UPDATE);
    expect(p.reason).toMatch(/no successful fetch since it was declared like this/);
    const stampStep = p.steps[1] as Extract<Step, { kind: 'sh' }>;
    expect(stampStep.script).toBe(`mkdir -p /var/lib/shipshape/apt_repository && echo ${STAMP} > /var/lib/shipshape/apt_repository/docker.fetched`);
  });

  it('fetches again when the index files are gone (rm -rf /var/lib/apt/lists/*)', () => {
    const p = planFor('apt_repository', DOCKER, { ...done, fetched: { stamp: STAMP, indexed: false } });
    expect(described(p.steps)).toEqual(UPDATE);
    expect(p.reason).toMatch(/no index on this host yet/);
  });

  it('replaces a changed key and updates, leaving the matching .sources alone', () => {
    const p = planFor('apt_repository', DOCKER, { ...done, key: file('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nold\n-----END PGP PUBLIC KEY BLOCK-----\n') });
    expect(described(p.steps)).toEqual(['write /etc/apt/keyrings/docker.asc mode 0644 owner root', ...UPDATE]);
    expect(p.diff?.[0].before).toMatch(/^\(/);
  });

  it('removes a one-line docker.list, which would make apt fail on conflicting Signed-By values', () => {
    const p = planFor('apt_repository', DOCKER, { ...done, legacy: parseStatLine('regular file|644|root|root|90') });
    expect(described(p.steps)).toEqual(['rm -f -- /etc/apt/sources.list.d/docker.list', ...UPDATE]);
  });

  it('creates /etc/apt/keyrings where the release does not ship it', () => {
    const p = planFor('apt_repository', DOCKER, { ...fresh, keyrings: none });
    expect(described(p.steps)[0]).toBe('install -d -m 0755 /etc/apt/keyrings');
  });

  it('update_cache: false writes the files only', () => {
    expect(described(planFor('apt_repository', { ...DOCKER, update_cache: false }, fresh).steps)).toHaveLength(2);
    expect(planFor('apt_repository', { ...DOCKER, update_cache: false }, { ...done, fetched: { indexed: false } }).steps).toEqual([]);
  });

  it('signed_by names a keyring already on the host; a key this module wrote earlier is removed', () => {
    const a = { name: 'docker', uris: ['https://download.docker.com/linux/debian'], components: 'stable', signed_by: '/usr/share/keyrings/docker.gpg', architectures: 'amd64 arm64' };
    const p = planFor('apt_repository', a, done);
    const sources = (p.steps.find((s) => s.kind === 'write') as Extract<Step, { kind: 'write' }>).content;
    expect(sources).toMatch(/^Signed-By: \/usr\/share\/keyrings\/docker.gpg$/m);
    expect(sources).toMatch(/^Architectures: amd64 arm64$/m);
    expect(described(p.steps)[0]).toBe('rm -f -- /etc/apt/keyrings/docker.asc');
  });

  it('flat repositories take no components', () => {
    const a = aptRepository.schema.parse({ name: 'lab', uris: 'http://10.99.0.1/repo', suites: './' });
    expect(renderSources(a, ['./'], undefined)).toBe('# managed by shipshape (apt_repository)\nTypes: deb\nURIs: http://10.99.0.1/repo\nSuites: ./\n');
    expect(planFor('apt_repository', { ...a, components: ['main'] }, fresh).fail).toMatch(/flat repository/);
  });

  it('state: absent removes its files, and is a no-op when they are gone', () => {
    const p = planFor('apt_repository', { name: 'docker', state: 'absent' }, done);
    expect(described(p.steps)).toEqual(['rm -f -- /etc/apt/sources.list.d/docker.sources /etc/apt/keyrings/docker.asc /var/lib/shipshape/apt_repository/docker.fetched']);
    expect(planFor('apt_repository', { name: 'docker', state: 'absent' }, fresh).reason).toBe('repository docker is absent');
  });

  it('reads key_src on the controller in prepare, and checks its fingerprint in the plan', () => {
    const ctx: PrepareContext = { readLocal: (p) => (p === 'docker.asc' ? DOCKER_APT_KEY : ''), render: (t) => t };
    const args = aptRepository.prepare!(aptRepository.schema.parse({ ...DOCKER, key: undefined, key_src: 'docker.asc' }), ctx);
    const plan = (a: typeof args) => aptRepository.plan(a, fresh as never, { host: debian12, access: sshAccess, check: false });
    expect(plan(args).steps).toHaveLength(4);
    expect(plan({ ...args, key_fingerprint: 'A'.repeat(40) }).fail).toMatch(/key_src docker.asc: its fingerprint is 9DC8/);
  });

  it('updates one source without dropping the lists of the others, and fails on any fetch or signature warning', () => {
    const s = updateScript('/etc/apt/sources.list.d/docker.sources');
    expect(s).toContain('apt-get -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/docker.sources -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 -q --error-on=any update');
    expect(renderStep({ kind: 'sh', script: s, why: '' })).toContain('Could not get lock');
  });
});
