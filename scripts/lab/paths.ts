// Where the lab keeps its state. Outside the repository on purpose: fresh clones on the same machine reuse
// the cached base image and apt cache. SHIPSHAPE_LAB_DIR overrides it (e.g. a tmpfs, or a second lab).
import path from 'node:path';
import type { Dist } from './dists.js';

export function labDir(): string {
  return path.resolve(process.env.SHIPSHAPE_LAB_DIR || '/var/lib/shipshape-lab');
}

export function labPaths(dir = labDir()) {
  return {
    dir,
    lock: path.join(dir, 'lock'),
    key: path.join(dir, 'id_ed25519'),
    /** the Debian 12 base image (the path it always had); see baseImagePath() for the others */
    base: path.join(dir, 'base'),
    hostsDir: path.join(dir, 'hosts'),
    inventoryDir: path.join(dir, 'inventory'),
    inventory: path.join(dir, 'inventory', 'hosts.yml'),
    knownHosts: path.join(dir, 'inventory', 'known_hosts'),
    run: path.join(dir, 'run'), // pid files of the gateway services
    log: path.join(dir, 'log'),
    acng: path.join(dir, 'acng'),
    pki: path.join(dir, 'pki'),
    pebble: path.join(dir, 'pebble'),
    dnsNames: path.join(dir, 'dns-names.json'),
  };
}

export function hostPaths(name: string, dir = labDir()) {
  const hostDir = path.join(labPaths(dir).hostsDir, name);
  return {
    dir: hostDir,
    root: path.join(hostDir, 'root'),
    loopPid: path.join(hostDir, 'loop.pid'),
    nspawnPid: path.join(hostDir, 'nspawn.pid'),
    console: path.join(hostDir, 'console.log'),
  };
}

/** Where the base image of a release lives: Debian 12 at `base` (as before releases were chosen), others beside it. */
export function baseImagePath(dist: Dist, dir = labDir()): string {
  return dist === 'bookworm' ? labPaths(dir).base : path.join(dir, `base-${dist}`);
}
