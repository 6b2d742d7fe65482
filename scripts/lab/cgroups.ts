// A cgroup per host. There is no systemd on the controller, so nothing gives nspawn a unit of its own:
// every nspawn started from the same cgroup puts its container under the SAME <cgroup>/payload, and the
// containers' systemds then share init.scope and system.slice (seen: units of h1 failing with
// "219/CGROUP ... No such file or directory" while h2 booted). Each host's nspawn therefore starts in
// <hierarchy>/shipshape-lab/hN, in every hierarchy nspawn uses (cgroup2, and v1 name=systemd on hybrid hosts).
import fs from 'node:fs';
import path from 'node:path';

/** Mount points of the cgroup2 hierarchy and of the v1 name=systemd one, from /proc/self/mounts text. */
export function parseCgroupMounts(mounts: string): string[] {
  const dirs: string[] = [];
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type, options = ''] = line.split(' ');
    if (type === 'cgroup2' || (type === 'cgroup' && options.split(',').includes('name=systemd'))) {
      dirs.push(mountPoint.replace(/\\040/g, ' '));
    }
  }
  return dirs;
}

export function hostCgroupDirs(name: string): string[] {
  let mounts = '';
  try {
    mounts = fs.readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    /* not Linux: nothing to join (the lab itself cannot run there anyway) */
  }
  return parseCgroupMounts(mounts).map((m) => path.join(m, 'shipshape-lab', name));
}

/** SIGKILL everything in the host's cgroup2 subtree at once (cgroup.kill, Linux >= 5.14), if available. */
export function killHostCgroup(name: string): void {
  for (const dir of hostCgroupDirs(name)) {
    const kill = path.join(dir, 'cgroup.kill');
    if (fs.existsSync(kill)) fs.writeFileSync(kill, '1');
  }
}

/** Remove the (now empty) cgroup directories, deepest first; a busy one is left for the next stop. */
export function removeHostCgroups(name: string): void {
  const rmTree = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmTree(path.join(dir, e.name));
    try {
      fs.rmdirSync(dir);
    } catch {
      /* still has processes */
    }
  };
  for (const dir of hostCgroupDirs(name)) rmTree(dir);
}
