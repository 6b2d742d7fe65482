// The lab CLI: `npm run lab -- <command>` (or `npx tsx scripts/lab.ts <command>`). See scripts/lab/.
import { spawnSync } from 'node:child_process';
import { DISTS, type Dist, labDown, labHost, labStatus, labUp, parseDist, resetHost, sshOptions } from './lab/index.js';

const USAGE = `usage: tsx scripts/lab.ts <command>
  up [N | hN...] [--fresh] [--dist D]  boot h1..hN (default 1), reusing running healthy hosts (--fresh: recreate
                                       them); --dist: ${DISTS.join(' | ')} (default bookworm; a running host
                                       of another release is recreated). \`up 0 --dist D\` only builds D's base image
  down [hN...]               stop hosts and services, delete namespaces and the bridge; with names: only
                                       those hosts (their roots deleted), services and other hosts stay
  status                     services, base images, hosts and their releases
  ssh NAME [cmd...]          ssh root@NAME with the lab key and strict host keys
  reset NAME [--dist D]      recreate one host fresh from the base image (of its own release unless --dist)`;

/** Takes `--dist D` (or `--dist=D`) out of args. */
function takeDist(args: string[]): { dist?: Dist; rest: string[] } {
  const rest: string[] = [];
  let dist: Dist | undefined;
  for (let i = 0; i < args.length; i++) {
    const m = /^--dist(?:=(.*))?$/.exec(args[i]);
    if (!m) {
      rest.push(args[i]);
      continue;
    }
    const value = m[1] ?? args[++i];
    if (value === undefined) throw new Error(`--dist needs a value: ${DISTS.join(', ')}`);
    dist = parseDist(value);
  }
  return { dist, rest };
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...allArgs] = argv;
  const { dist, rest: args } = takeDist(allArgs);
  switch (cmd) {
    case 'up': {
      const fresh = args.includes('--fresh');
      const rest = args.filter((a) => a !== '--fresh');
      const hosts = rest.length === 0 ? 1 : /^\d+$/.test(rest[0]) && rest.length === 1 ? Number(rest[0]) : rest;
      const started = Date.now();
      const lab = await labUp({ hosts, fresh, dist });
      console.log(`lab up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const h of lab.hosts) console.log(`  ${h.name}  ${h.addr}  ${h.fqdn}  ${lab.dist}`);
      const asked = new Set(lab.hosts.map((h) => h.name));
      const others = (await labStatus()).hosts.filter((h) => h.loopPid && !asked.has(h.name)).map((h) => h.name);
      if (others.length > 0) console.log(`  also running (and in the inventory): ${others.join(' ')}`);
      console.log(`inventory:   ${lab.inventoryPath}`);
      console.log(`known_hosts: ${lab.knownHostsPath}`);
      console.log(`ssh key:     ${lab.keyPath}`);
      console.log(`ACME:        ${lab.pebble.directory} (listener CA ${lab.pebble.listenerCaPath})`);
      return 0;
    }
    case 'down':
      await labDown(args);
      console.log(args.length > 0 ? `lab down: ${args.join(' ')}` : 'lab down');
      return 0;
    case 'status': {
      const s = await labStatus();
      const bases = DISTS.map((d) => `${d} ${s.baseImages[d] ? 'ready' : 'missing'}`).join(', ');
      console.log(`lab dir: ${s.dir}   base images: ${bases}`);
      for (const svc of s.services) console.log(`  ${svc.name.padEnd(20)} ${svc.pid ? `running (pid ${svc.pid})` : 'stopped'}`);
      if (s.hosts.length === 0) console.log('  no hosts');
      for (const h of s.hosts) {
        const state = h.loopPid ? (h.reachable ? 'up' : 'running, ssh not answering') : 'stopped';
        console.log(`  ${h.name.padEnd(5)} ${h.addr.padEnd(12)} ${(h.dist ?? '?').padEnd(9)} ${state}`);
      }
      return 0;
    }
    case 'ssh': {
      const [name, ...remote] = args;
      if (!name) break;
      const tty = process.stdin.isTTY && process.stdout.isTTY ? ['-t'] : [];
      const r = spawnSync('ssh', [...sshOptions(), ...tty, `root@${labHost(name).addr}`, ...remote], { stdio: 'inherit' });
      return r.status ?? 1;
    }
    case 'reset': {
      if (!args[0]) break;
      const h = await resetHost(args[0], dist);
      console.log(`${h.name} recreated: ${h.addr} ${h.dist}`);
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE);
      return cmd === undefined ? 2 : 0;
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`lab: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
