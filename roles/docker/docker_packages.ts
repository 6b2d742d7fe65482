import { z } from 'zod';
import { defineModule, type HostInfo, type Plan } from '../../src/core/module.js';
import { packageStatus, parsePackageSpec } from '../../src/facts/apt.js';
import apt, { type AptArgs } from '../../src/modules/apt.js';

/**
 * Debian's Docker packages in ONE apt transaction: apt's own task (same arguments, facts and plan), plus
 * the client package on releases whose docker.io no longer ships the `docker` command (Debian 13 moved it
 * to docker-cli, which docker.io only Recommends, and the role installs without recommends). The client
 * joins only the transaction that installs docker.io itself, which is exactly when the role's later
 * "docker command installed" task would otherwise run a second transaction for it; on every other run,
 * and on releases not known here, that task stays the judge of the `docker` command.
 */
const schema = z
  .object({ client: z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/), engine: z.string().default('docker.io') })
  .passthrough()
  .transform(({ client, engine, ...rest }, ctx) => {
    const parsed = apt.schema.safeParse(rest);
    if (!parsed.success) {
      parsed.error.issues.forEach((i) => ctx.addIssue({ ...i, code: 'custom', message: i.message }));
      return z.NEVER;
    }
    return { ...parsed.data, client, engine } as AptArgs & { client: string; engine: string };
  });

type Args = z.infer<typeof schema>;

/** Releases whose docker.io leaves the client to a package of its own (Debian 13 on; testing has no VERSION_ID). */
export function clientSplit(host: HostInfo): boolean {
  return host.osId === 'debian' && Number(host.osVersion) >= 13;
}

export default defineModule({
  name: 'docker_packages',
  summary: "Debian's Docker packages with apt, the docker client in the same transaction where it is a package of its own",
  schema,
  // the engine's one download transaction (engine/apt-prefetch.ts) fetches these as any apt task's
  installsWith: 'apt',
  facts: (a: Args) => apt.facts(a),
  plan(a: Args, f, ctx): Plan {
    const { client, engine, ...aptArgs } = a;
    const names = aptArgs.name ?? [];
    const installsEngine = aptArgs.state !== 'absent' && names.includes(engine) && f.packages?.available === true && !packageStatus(f.packages, parsePackageSpec(engine)).installed;
    const fold = installsEngine && clientSplit(ctx.host) && !names.includes(client);
    return apt.plan(fold ? { ...aptArgs, name: [...names, client] } : aptArgs, f, ctx);
  },
});
