import { z } from 'zod';
import { defineModule } from '../../src/core/module.js';
import { run } from '../../src/core/step.js';
import { dockerDaemon } from '../../src/facts/docker.js';
import { bridgeOverlap } from './bridge-overlap.js';

const schema = z
  .object({
    /** daemon.json as declared (the copy task writes it) */
    config: z.record(z.string(), z.unknown()),
    service: z.string().default('docker'),
  })
  .strict();

/** daemon.json keys `docker info` reports, and the field it reports them in */
const FIELDS: Record<string, string> = { 'log-driver': 'LoggingDriver', 'storage-driver': 'Driver', 'live-restore': 'LiveRestoreEnabled', debug: 'Debug' };

/**
 * The running daemon uses what daemon.json declares: a daemon started with other settings (the file was
 * changed, docker restarted, the file put back without a restart) is drift, fixed by a restart. While
 * daemon.json itself differs, the copy task and its handler own the fix.
 */
export default defineModule({
  name: 'docker_daemon',
  summary: 'The running Docker daemon uses daemon.json as declared (judged with docker info); restarts it when it does not',
  schema,
  facts: () => ({ docker: dockerDaemon }),
  // before the play's first change (the package install starts dockerd with this configuration)
  preflight: (a, ctx) => bridgeOverlap(a.config, ctx.access.client ?? ctx.host.client, ctx.host.clientRoute),
  plan(a, { docker }) {
    if (!docker.running) return { steps: [], reason: 'the Docker daemon is not running (the service task starts it)' };
    let onDisk: unknown;
    try {
      onDisk = docker.file === undefined ? undefined : JSON.parse(docker.file);
    } catch {
      onDisk = undefined;
    }
    if (JSON.stringify(onDisk) !== JSON.stringify(a.config)) return { steps: [], reason: 'daemon.json differs from the declaration: its own task rewrites it and restarts Docker' };
    const off = Object.entries(FIELDS).flatMap(([key, field]) => {
      const want = a.config[key] ?? (key === 'live-restore' || key === 'debug' ? false : undefined);
      const have = docker.info[field];
      return want !== undefined && have !== undefined && String(want) !== have ? [{ key, field, want: String(want), have }] : [];
    });
    if (!off.length) return { steps: [], reason: `the running daemon uses daemon.json (${Object.keys(FIELDS).filter((k) => a.config[k] !== undefined).map((k) => `${k} ${a.config[k]}`).join(', ') || 'defaults'})` };
    return {
      // reset-failed first: the restarts that caused the drift may have used up systemd's start limit
      steps: [run(['systemctl', 'reset-failed', a.service]), run(['systemctl', 'restart', a.service])],
      reason: `restart ${a.service}: the running daemon uses ${off.map((o) => `${o.key} ${o.have}`).join(', ')}, daemon.json says ${off.map((o) => o.want).join(', ')}`,
      drift: off.map((o) => ({
        what: `the running Docker daemon uses ${o.key} "${o.have}", daemon.json declares "${o.want}" (docker info ${o.field})`,
        why: 'the daemon was started with other settings and not restarted since daemon.json was put back: what the file promises (e.g. rotated logs) is not what runs',
        where: `the running dockerd (${a.service}.service); /etc/docker/daemon.json is as declared`,
        fix: `systemctl reset-failed ${a.service}; systemctl restart ${a.service}`,
      })),
    };
  },
});
