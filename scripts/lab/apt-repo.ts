// Signed apt repositories served from the gateway: the lab's honest stand-ins for the vendor repositories
// (Docker's, Caddy's) that the hosts cannot reach. Everything a real one has on the wire: a Release file with
// SHA256 sums, signed inline (InRelease) and detached (Release.gpg) by a key of its own, Packages indexes, .deb
// files in a pool. Their Description says what they are.
//
//   http://10.99.0.1:8098/linux/debian                    suites bookworm and trixie, component stable (Docker's layout)
//   http://10.99.0.1:8098/public/caddy/stable/deb/debian  suite any-version, component main (Caddy's, on Cloudsmith)
//
// Docker's packages are tiny stand-ins carrying the vendor's names (docker-ce, containerd.io...), built with
// dpkg-deb: docker-ce ships a docker.service that only sleeps, and creates the docker group as the real package
// does, so a role can run its whole vendor path against it. Caddy's `caddy` is a real web server: Debian's caddy
// package of the controller's release (fetched through the lab's apt cache) repackaged under a version above
// Debian's, as Caddy's own package is, so a host installs it from this repository only when the role points apt
// here, and then serves HTTPS with it.
//
// The key is made once and kept in <lab dir>/apt-repo/gnupg; the repository is rebuilt when REPO_RECIPE changes.
// The hosts' apt goes through the lab's apt-cacher-ng proxy: hostAptDirectConf() is the apt.conf line that lets
// them reach this server directly, as a provider's private mirror would be configured.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { GATEWAY } from './addressing.js';
import { DISTS } from './dists.js';
import { withLabLock } from './lock.js';
import { labPaths } from './paths.js';
import { missingPackages } from './prerequisites.js';
import { livePid, log, retryUntil, sh, shTry, spawnDaemon, tail, terminate, writeFileAtomic } from './shell.js';
import { ACNG_PORT, tcpOpen } from './services.js';

export const APT_REPO_PORT = 8098;
/** Debian 12's suite (what the repository had before it served Debian 13 too) */
export const APT_REPO_SUITE = 'bookworm';
/** one suite per lab release, the same packages in each, as Docker's repository has one per Debian release */
export const APT_REPO_SUITES: readonly string[] = DISTS;
export const APT_REPO_COMPONENT = 'stable';
const ARCH = 'amd64';
const UID = 'shipshape lab apt repository <apt-repo@lab.test>';
const SERVER_MARKER = '// shipshape-lab apt-repo server';

export interface LabPackage {
  name: string;
  version: string;
  depends?: string[];
  /** extra files: path inside the package -> content */
  files?: Record<string, string>;
  postinst?: string;
  /**
   * Repackage this Debian package (of the controller's release) instead of building an empty stand-in: its
   * files, maintainer scripts and dependencies, under this entry's name, version and description.
   */
  repack?: string;
}

/** One repository of the server: its path under the server's root, suites, component and packages. */
interface RepoLayout {
  path: string;
  label: string;
  suites: readonly string[];
  component: string;
  packages: LabPackage[];
}

const V = '5:0.0.0~lab1-1~debian.12~bookworm';
const STANDIN_SERVICE = `[Unit]
Description=Stand-in for Docker's docker.service (shipshape lab; runs no engine)

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
`;

/** The vendor packages the docker role installs from Docker's repository. */
export const LAB_PACKAGES: LabPackage[] = [
  {
    name: 'docker-ce',
    version: V,
    depends: ['docker-ce-cli', 'containerd.io'],
    files: { 'lib/systemd/system/docker.service': STANDIN_SERVICE },
    postinst: '#!/bin/sh\nset -e\nif [ "$1" = configure ] && ! getent group docker >/dev/null; then groupadd --system docker; fi\n',
  },
  { name: 'docker-ce-cli', version: V },
  { name: 'containerd.io', version: '1.7.0~lab1-1' },
  { name: 'docker-buildx-plugin', version: '0.0.0~lab1-1~debian.12~bookworm' },
  { name: 'docker-compose-plugin', version: '0.0.0~lab1-1~debian.12~bookworm' },
];

/**
 * Caddy's package as Caddy's repository serves it, with a real caddy inside (see the top of this file). The
 * version sorts above Debian's 2.6.2-N, as the vendor's 2.x releases do, so apt prefers it once the source is
 * there; the "+lab" suffix says in `apt-cache policy` and `dpkg -l` where it came from.
 */
export const LAB_CADDY_PACKAGE: LabPackage = { name: 'caddy', version: '2.6.2+lab1', repack: 'caddy' };

const DOCKER_LAYOUT: RepoLayout = {
  path: 'linux/debian',
  label: "shipshape lab stand-in for Docker's repository",
  suites: APT_REPO_SUITES,
  component: APT_REPO_COMPONENT,
  packages: LAB_PACKAGES,
};
/** Cloudsmith's layout for Caddy: one suite, any-version, for every Debian and Ubuntu release */
const CADDY_LAYOUT: RepoLayout = {
  path: 'public/caddy/stable/deb/debian',
  label: "shipshape lab stand-in for Caddy's repository",
  suites: ['any-version'],
  component: 'main',
  packages: [LAB_CADDY_PACKAGE],
};
const LAYOUTS = [DOCKER_LAYOUT, CADDY_LAYOUT];

/** Bump (or change the packages) to rebuild the repository; the key stays. */
const REPO_RECIPE = `lab apt repo v3 ${JSON.stringify(LAYOUTS)}`;

/** One vendor repository of the lab, as a role's variables point at it. */
export interface LabVendorRepo {
  /** the URI for a .sources file, as https://dl.cloudsmith.io/public/caddy/stable/deb/debian */
  uri: string;
  suites: readonly string[];
  component: string;
  /** the repository's public key, ASCII-armored */
  key: string;
  /** its fingerprint (40 hex digits) */
  fingerprint: string;
  packages: LabPackage[];
}

export interface LabAptRepo {
  /** the URI for a .sources file, as Docker's https://download.docker.com/linux/debian */
  uri: string;
  /** Debian 12's; every suite of APT_REPO_SUITES is served */
  suite: string;
  suites: readonly string[];
  component: string;
  /** the repository's public key, ASCII-armored */
  key: string;
  /** its fingerprint (40 hex digits) */
  fingerprint: string;
  packages: LabPackage[];
  /** Caddy's repository (Cloudsmith's layout), with a real caddy */
  caddy: LabVendorRepo;
}

function repoPaths() {
  const dir = path.join(labPaths().dir, 'apt-repo');
  return {
    dir,
    gnupg: path.join(dir, 'gnupg'),
    www: path.join(dir, 'www'),
    key: path.join(dir, 'key.asc'),
    /** Debian packages fetched for repackaging, kept across rebuilds */
    debs: path.join(dir, 'debs'),
    recipe: path.join(dir, 'recipe'),
    pid: path.join(labPaths().run, 'apt-repo.pid'),
    log: path.join(labPaths().log, 'apt-repo.log'),
  };
}

/**
 * Key, repository and server, each only when missing or stale; cheap when all is there. Needs the lab's
 * bridge (the server binds the gateway address): call it after labUp().
 */
export async function ensureAptRepo(): Promise<LabAptRepo> {
  return withLabLock(async () => {
    await ensureGpg();
    const p = repoPaths();
    const fingerprint = await ensureKey();
    const stale = !fs.existsSync(p.recipe) || fs.readFileSync(p.recipe, 'utf8') !== REPO_RECIPE;
    if (stale) {
      await buildRepo();
      writeFileAtomic(p.recipe, REPO_RECIPE);
    }
    await ensureServer(stale);
    const key = fs.readFileSync(p.key, 'utf8');
    const vendor = (l: RepoLayout): LabVendorRepo => ({
      uri: `http://${GATEWAY}:${APT_REPO_PORT}/${l.path}`,
      suites: l.suites,
      component: l.component,
      key,
      fingerprint,
      packages: l.packages,
    });
    return { ...vendor(DOCKER_LAYOUT), suite: APT_REPO_SUITE, caddy: vendor(CADDY_LAYOUT) };
  });
}

/**
 * apt.conf for a host: fetch from the gateway's repository directly instead of through the lab's apt proxy
 * (apt-cacher-ng only caches Debian's mirror). Lab plumbing like the proxy line itself, not engine config.
 */
export function hostAptDirectConf(): { path: string; content: string } {
  return { path: '/etc/apt/apt.conf.d/01shipshape-lab-repo-direct', content: `Acquire::http::Proxy::${GATEWAY} "DIRECT";\n` };
}

/** The pid of the repository's server when it runs (for `lab status`). */
export function aptRepoPid(): number | undefined {
  return livePid(repoPaths().pid, isServer);
}

export async function stopAptRepo(): Promise<void> {
  const p = repoPaths();
  const pid = aptRepoPid();
  if (pid !== undefined) await terminate(pid, 5_000);
  fs.rmSync(p.pid, { force: true });
}

async function ensureGpg(): Promise<void> {
  const missing = await missingPackages(['gnupg']);
  if (!missing.length) return;
  log('installing gnupg (the lab apt repository signs its Release file)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const r = await shTry({ env })`apt-get install -y --no-install-recommends gnupg`;
  if (r.exitCode !== 0) throw new Error(`could not install gnupg (apt-get exit ${r.exitCode}): ${r.stderr.trim()}`);
}

/** gpg with the repository's own home: never the user's keyring, no agent left behind. */
async function gpg(args: string[]): Promise<string> {
  const home = repoPaths().gnupg;
  try {
    return (await sh`gpg --batch --quiet --homedir ${home} --pinentry-mode loopback --passphrase ${''} ${args}`).stdout;
  } finally {
    await shTry`gpgconf --homedir ${home} --kill gpg-agent`;
  }
}

async function ensureKey(): Promise<string> {
  const p = repoPaths();
  fs.mkdirSync(p.gnupg, { recursive: true, mode: 0o700 });
  fs.chmodSync(p.gnupg, 0o700);
  let fpr = fingerprintOf(await gpg(['--with-colons', '--list-secret-keys']).catch(() => ''));
  if (!fpr) {
    log('making the lab apt repository signing key (once)');
    await gpg(['--quick-gen-key', UID, 'ed25519', 'sign', 'never']);
    fpr = fingerprintOf(await gpg(['--with-colons', '--list-secret-keys']));
    if (!fpr) throw new Error(`gpg made no key in ${p.gnupg}`);
  }
  const armored = await gpg(['--armor', '--export', fpr]);
  if (!fs.existsSync(p.key) || fs.readFileSync(p.key, 'utf8') !== armored) writeFileAtomic(p.key, armored);
  return fpr;
}

function fingerprintOf(colons: string): string | undefined {
  // the first fpr record follows the first sec record: the primary key's
  return /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(colons)?.[1];
}

async function buildRepo(): Promise<void> {
  const p = repoPaths();
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-lab-apt-repo-'));
  try {
    const www = path.join(tmp, 'www');
    for (const layout of LAYOUTS) {
      const root = path.join(www, layout.path);
      const entries: string[] = [];
      for (const pkg of layout.packages) entries.push(await buildPackage(pkg, layout.component, root, tmp));
      for (const suite of layout.suites) await writeSuite(root, layout, suite, entries.join('\n'));
    }
    fs.rmSync(p.www, { recursive: true, force: true });
    fs.mkdirSync(p.dir, { recursive: true });
    fs.renameSync(www, p.www);
    const count = LAYOUTS.reduce((n, l) => n + l.packages.length, 0);
    log(`built the lab apt repositories (${count} packages) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** dists/<suite>: the Packages index and a Release file signed inline and detached, as apt verifies them. */
async function writeSuite(root: string, layout: RepoLayout, suite: string, packages: string): Promise<void> {
  const indexDir = path.join(root, 'dists', suite, layout.component, `binary-${ARCH}`);
  fs.mkdirSync(indexDir, { recursive: true });
  fs.writeFileSync(path.join(indexDir, 'Packages'), packages);
  fs.writeFileSync(path.join(indexDir, 'Packages.gz'), gzipSync(packages));
  const dist = path.join(root, 'dists', suite);
  const sums = ['Packages', 'Packages.gz'].map((f) => {
    const data = fs.readFileSync(path.join(indexDir, f));
    return ` ${sha256(data)} ${data.length} ${layout.component}/binary-${ARCH}/${f}`;
  });
  const release = [
    'Origin: shipshape-lab',
    `Label: ${layout.label}`,
    `Suite: ${suite}`,
    `Codename: ${suite}`,
    `Date: ${new Date().toUTCString().replace('GMT', 'UTC')}`,
    `Architectures: ${ARCH}`,
    `Components: ${layout.component}`,
    `Description: stand-in packages for testing apt repository handling (${layout.packages.map((x) => x.name).join(', ')})`,
    'SHA256:',
    ...sums,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dist, 'Release'), release);
  await gpg(['--yes', '--local-user', UID, '--clearsign', '--output', path.join(dist, 'InRelease'), path.join(dist, 'Release')]);
  await gpg(['--yes', '--local-user', UID, '--armor', '--detach-sign', '--output', path.join(dist, 'Release.gpg'), path.join(dist, 'Release')]);
}

/** One .deb in the pool (a stand-in, or a repackaged Debian package); returns its Packages stanza. */
async function buildPackage(pkg: LabPackage, component: string, root: string, tmp: string): Promise<string> {
  const tree = path.join(tmp, 'pkg', pkg.name);
  const control = pkg.repack ? await repackTree(pkg, tree) : standInTree(pkg, tree);
  fs.writeFileSync(path.join(tree, 'DEBIAN', 'control'), control);
  const upstream = pkg.version.replace(/^\d+:/, '');
  const rel = `pool/${component}/${pkg.name[0]}/${pkg.name}/${pkg.name}_${upstream}_${ARCH}.deb`;
  const deb = path.join(root, rel);
  fs.mkdirSync(path.dirname(deb), { recursive: true });
  // gzip, fast: a repackaged caddy is 36 MB of binary, and xz would cost the shared CPU half a minute
  await sh`dpkg-deb --root-owner-group -Zgzip -z1 --build ${tree} ${deb}`;
  const data = fs.readFileSync(deb);
  // the index stanza is the control file with the pool file's name, size and sum before the description
  const at = control.indexOf('\nDescription:');
  return `${control.slice(0, at)}\nFilename: ${rel}\nSize: ${data.length}\nSHA256: ${sha256(data)}${control.slice(at)}`;
}

/** An empty package carrying the vendor's name; returns its control file. */
function standInTree(pkg: LabPackage, tree: string): string {
  fs.mkdirSync(path.join(tree, 'DEBIAN'), { recursive: true });
  const files = { [`usr/share/doc/${pkg.name}/README.shipshape-lab`]: `A stand-in for ${pkg.name}, served by the shipshape lab's apt repository.\n`, ...pkg.files };
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(tree, rel)), { recursive: true });
    fs.writeFileSync(path.join(tree, rel), content);
  }
  if (pkg.postinst) fs.writeFileSync(path.join(tree, 'DEBIAN', 'postinst'), pkg.postinst, { mode: 0o755 });
  return [
    `Package: ${pkg.name}`,
    `Version: ${pkg.version}`,
    `Architecture: ${ARCH}`,
    'Maintainer: shipshape lab <lab@lab.test>',
    'Installed-Size: 1',
    ...(pkg.depends?.length ? [`Depends: ${pkg.depends.join(', ')}`] : []),
    'Section: admin',
    'Priority: optional',
    `Description: lab stand-in for ${pkg.name}`,
    ' Carries the vendor package name only, for testing apt repository handling.',
    '',
  ].join('\n');
}

/**
 * Debian's package pkg.repack unpacked with its maintainer scripts; returns its control file with this entry's
 * name and version, the lab as maintainer and a description saying what it is. Dependencies stay: the host's
 * apt fetches them from Debian's mirror, as it would for the vendor's own package.
 */
async function repackTree(pkg: LabPackage, tree: string): Promise<string> {
  const deb = await debianDeb(pkg.repack!);
  fs.mkdirSync(path.dirname(tree), { recursive: true });
  await sh`dpkg-deb -R ${deb} ${tree}`;
  const original = fs.readFileSync(path.join(tree, 'DEBIAN', 'control'), 'utf8');
  const fields = original
    .replace(/\n(?=[ \t])/g, '\u0000')
    .split('\n')
    .filter((l) => l && !/^(Package|Version|Maintainer|Built-Using|Description|Homepage|Source):/.test(l))
    .map((l) => l.replace(/\u0000/g, '\n'));
  const from = /^Version: (.*)$/m.exec(original)?.[1] ?? '?';
  return [
    `Package: ${pkg.name}`,
    `Version: ${pkg.version}`,
    'Maintainer: shipshape lab <lab@lab.test>',
    ...fields,
    `Description: lab stand-in for the vendor's ${pkg.name} (Debian's ${pkg.repack} ${from} inside)`,
    ` Debian's ${pkg.repack} package, repackaged by the shipshape lab as the vendor repository's ${pkg.name}.`,
    '',
  ].join('\n');
}

/** The .deb of a Debian package of the controller's release, fetched once (through the lab's apt cache when it runs). */
async function debianDeb(name: string): Promise<string> {
  const dir = repoPaths().debs;
  fs.mkdirSync(dir, { recursive: true });
  const have = () => fs.readdirSync(dir).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
  if (!have()) {
    const proxy = (await tcpOpen('127.0.0.1', ACNG_PORT)) ? [`-o`, `Acquire::http::Proxy=http://127.0.0.1:${ACNG_PORT}`] : [];
    const r = await shTry({ cwd: dir })`apt-get -q ${proxy} download ${name}`;
    if (r.exitCode !== 0 || !have()) throw new Error(`could not fetch Debian's ${name} package to repackage (apt-get download exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
  return path.join(dir, have()!);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---- the server: a static file server in plain Node (no python3 or web server on the controller) -------

const SERVER_JS = `${SERVER_MARKER}
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const [root, addr, port] = process.argv.slice(1);
http.createServer((req, res) => {
  const url = decodeURIComponent((req.url || '/').split('?')[0]);
  const file = path.join(root, path.normalize(url).replace(/^(\\.\\.[\\/])+/, ''));
  fs.stat(file, (err, st) => {
    const ok = !err && st.isFile() && file.startsWith(root + path.sep) && (req.method === 'GET' || req.method === 'HEAD');
    console.log(new Date().toISOString(), req.socket.remoteAddress, req.method, url, ok ? 200 : 404);
    if (!ok) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Length': st.size, 'Last-Modified': st.mtime.toUTCString(), 'Content-Type': 'application/octet-stream' });
    if (req.method === 'HEAD') res.end(); else fs.createReadStream(file).pipe(res);
  });
}).listen(Number(port), addr);
`;

const isServer = (argv: string[]) => argv.some((a) => a.startsWith(SERVER_MARKER));

async function ensureServer(restart: boolean): Promise<void> {
  const p = repoPaths();
  const existing = livePid(p.pid, isServer);
  if (existing !== undefined) {
    if (!restart && (await tcpOpen(GATEWAY, APT_REPO_PORT))) return;
    await terminate(existing, 5_000);
  }
  fs.mkdirSync(labPaths().run, { recursive: true });
  fs.mkdirSync(labPaths().log, { recursive: true });
  const pid = spawnDaemon([process.execPath, '-e', SERVER_JS, p.www, GATEWAY, String(APT_REPO_PORT)], p.log);
  writeFileAtomic(p.pid, `${pid}\n`);
  const ok = await retryUntil(10_000, 100, async () => ((await tcpOpen(GATEWAY, APT_REPO_PORT)) ? true : undefined));
  if (!ok) {
    await terminate(pid, 2_000);
    throw new Error(`the lab apt repository server did not start on ${GATEWAY}:${APT_REPO_PORT} (see ${p.log}):\n${tail(p.log, 15)}`);
  }
}
