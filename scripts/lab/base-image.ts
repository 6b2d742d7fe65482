// The base images: one Debian root per release (12 and 13), each like a fresh cloud VPS (root reachable
// with a key, no host keys yet; each host makes its own). Built once into a temporary directory and renamed
// into place, so an interrupted build is never reused; rebuilt only when the recipe below changes.
import fs from 'node:fs';
import path from 'node:path';
import { GATEWAY } from './addressing.js';
import { type AptMirrors, parseDeb822Sources, parseOneLineSources } from './apt-sources.js';
import { DEFAULT_DIST, type Dist } from './dists.js';
import { baseImagePath, labPaths } from './paths.js';
import { ACNG_PORT } from './services.js';
import { log, sh } from './shell.js';

export const BASE_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'sudo', 'iproute2', 'python3',
  'ca-certificates', 'cron', 'curl', 'gnupg', 'procps',
];
/** Bump when the customization below changes: existing bases are then rebuilt. */
const recipe = (dist: Dist) => `shipshape-lab base v1 ${dist} ${BASE_PACKAGES.join(',')}`;
const MARKER = '.shipshape-lab-base';

export const APT_PROXY_CONF = 'etc/apt/apt.conf.d/00shipshape-lab-proxy';

/** The controller's own mirror, read now (never written into the repository). */
export function controllerMirrors(): AptMirrors {
  const candidates: [string, (t: string) => AptMirrors | undefined][] = [
    ['/etc/apt/sources.list.d/debian.sources', parseDeb822Sources],
    ['/etc/apt/sources.list', parseOneLineSources],
  ];
  for (const [file, parse] of candidates) {
    if (!fs.existsSync(file)) continue;
    const mirrors = parse(fs.readFileSync(file, 'utf8'));
    if (mirrors) return mirrors;
  }
  throw new Error('no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list');
}

export function baseImageReady(dist: Dist = DEFAULT_DIST): boolean {
  const marker = path.join(baseImagePath(dist), MARKER);
  return fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim() === recipe(dist);
}

/** deb822 sources of a stock Debian 12 or 13 install: main, updates and security suites. */
export function renderDebianSources(m: AptMirrors, dist: Dist = DEFAULT_DIST): string {
  const stanza = (uri: string, suites: string) =>
    `Types: deb\nURIs: ${uri}\nSuites: ${suites}\nComponents: main\n` +
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n';
  const parts = [stanza(m.main, `${dist} ${dist}-updates`)];
  if (m.security) parts.push(stanza(m.security, `${dist}-security`));
  return parts.join('\n');
}

/**
 * Ensure the release's base image exists for the current recipe. Needs apt-cacher-ng up (debootstrap goes
 * through it). Debian 13 bootstraps from a Debian 12 controller with the same mirror and keyring.
 */
export async function ensureBaseImage(publicKey: string, dist: Dist = DEFAULT_DIST): Promise<{ built: boolean; seconds: number }> {
  const started = Date.now();
  if (baseImageReady(dist)) return { built: false, seconds: 0 };
  const { dir } = labPaths();
  const base = baseImagePath(dist);
  const name = path.basename(base);
  // we hold the lab lock: any other build directory of this release is a leftover of an interrupted build
  for (const entry of fs.readdirSync(dir)) {
    if (entry.startsWith(`${name}.`) && /\.(building|old)-\d+$/.test(entry)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
  const root = path.join(dir, `${name}.building-${process.pid}`);
  const mirrors = controllerMirrors();
  log(`building the ${dist} base image (debootstrap ${dist} from ${mirrors.main}, about a minute)`);
  if (!mirrors.security) log('warning: no security mirror configured on this machine: the image gets no security suite');
  // through the lab's apt cache: a rebuild then downloads nothing
  const env = { ...process.env, http_proxy: `http://127.0.0.1:${ACNG_PORT}` };
  const r = await sh({ env, nothrow: true })`debootstrap --variant=minbase --include=${BASE_PACKAGES.join(',')} ${dist} ${root} ${mirrors.main}`;
  if (r.exitCode !== 0) {
    const debootstrapLog = path.join(root, 'debootstrap/debootstrap.log');
    const detail = fs.existsSync(debootstrapLog) ? fs.readFileSync(debootstrapLog, 'utf8').split('\n').slice(-20).join('\n') : r.stderr;
    throw new Error(`debootstrap failed (exit ${r.exitCode}):\n${detail}`);
  }
  await customize(root, mirrors, publicKey, dist);
  fs.writeFileSync(path.join(root, MARKER), recipe(dist) + '\n');
  if (fs.existsSync(base)) {
    const old = path.join(dir, `${name}.old-${process.pid}`);
    fs.renameSync(base, old);
    fs.rmSync(old, { recursive: true, force: true });
  }
  fs.renameSync(root, base);
  const seconds = (Date.now() - started) / 1000;
  log(`${dist} base image ready in ${seconds.toFixed(0)} s`);
  return { built: true, seconds };
}

async function customize(root: string, mirrors: AptMirrors, publicKey: string, dist: Dist): Promise<void> {
  const at = (p: string) => path.join(root, p);
  // debootstrap writes only `<suite> main` in the one-line format; a Debian 12 or 13 VPS has deb822 with
  // all three suites (and apt would read both files)
  fs.rmSync(at('etc/apt/sources.list'), { force: true });
  fs.writeFileSync(at('etc/apt/sources.list.d/debian.sources'), renderDebianSources(mirrors, dist));
  // like a provider's mirror: part of the image, not of what the engine configures
  fs.writeFileSync(at(APT_PROXY_CONF), `Acquire::http::Proxy "http://${GATEWAY}:${ACNG_PORT}";\n`);
  fs.writeFileSync(at('etc/resolv.conf'), `nameserver ${GATEWAY}\n`);
  fs.mkdirSync(at('root/.ssh'), { recursive: true, mode: 0o700 });
  fs.chmodSync(at('root/.ssh'), 0o700);
  fs.writeFileSync(at('root/.ssh/authorized_keys'), publicKey + '\n', { mode: 0o600 });
  // Debian does not regenerate missing host keys at boot: each host gets its own before its first boot
  for (const f of fs.readdirSync(at('etc/ssh'))) if (f.startsWith('ssh_host_')) fs.rmSync(at(`etc/ssh/${f}`));
  // each host writes its own machine-id; an empty one here would make copies share whatever is generated
  fs.writeFileSync(at('etc/machine-id'), '');
  fs.rmSync(at('var/lib/dbus/machine-id'), { force: true });
  fs.writeFileSync(at('etc/hostname'), 'localhost\n');
  // package lists as a freshly installed system has them (debootstrap leaves only its own placeholders)
  for (const f of fs.readdirSync(at('var/lib/apt/lists'))) {
    if (f !== 'partial' && f !== 'lock') fs.rmSync(at(`var/lib/apt/lists/${f}`), { recursive: true, force: true });
  }
  await sh`chroot ${root} apt-get -q update`;
  await sh`chroot ${root} apt-get clean`;
}
