/**
 * A PostgreSQL image for lab hosts, which reach no Docker registry: Debian's own postgresql package installed
 * (through the lab's apt cache) into a copy of the lab's base image, with a small entry point that behaves like
 * the official image's (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_HOST_AUTH_METHOD), imported
 * with `docker import`. Built once per machine and release, cached as a tarball under the lab directory.
 */
import { execFile } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Dist } from '../../../scripts/lab/dists.js';
import { baseImagePath, hostPaths, labDir } from '../../../scripts/lab/paths.js';
import { hostExec } from '../../../scripts/lab/index.js';

const run = promisify(execFile);
const RECIPE = 'shipshape-lab postgres v1';

/** What the official image's entry point does, as far as the tests and the verify command need it. */
export const ENTRYPOINT = `#!/bin/sh
set -e
: "\${PGDATA:=/var/lib/postgresql/data}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  auth=\${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -n "\${POSTGRES_PASSWORD:-}" ]; then
    pw=$(mktemp)
    printf '%s\\n' "$POSTGRES_PASSWORD" >"$pw"
    initdb -D "$PGDATA" -U "\${POSTGRES_USER:-postgres}" --pwfile="$pw" --auth-local=trust --auth-host="$auth" >/dev/null
    rm -f "$pw"
  else
    initdb -D "$PGDATA" -U "\${POSTGRES_USER:-postgres}" --auth-local=trust --auth-host="$auth" >/dev/null
  fi
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"
  if [ -n "\${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \\"$POSTGRES_DB\\"" | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
fi
exec "$@" -D "$PGDATA"
`;

/** The cached tarball of the image's root filesystem for this release, and its PostgreSQL major version. */
export async function postgresRootfsTar(dist: Dist): Promise<{ tar: string; major: string }> {
  const dir = join(labDir(), 'images');
  mkdirSync(dir, { recursive: true });
  const tar = join(dir, `postgres-${dist}.tar`);
  const marker = `${tar}.recipe`;
  const ready = () => existsSync(tar) && existsSync(marker) && readFileSync(marker, 'utf8').startsWith(`${RECIPE}\n`);
  if (!ready()) {
    const root = join(dir, `postgres-${dist}.rootfs`);
    writeFileSync(join(dir, 'entrypoint.sh'), ENTRYPOINT, { mode: 0o755 });
    const script = [
      'set -e',
      `if [ -f "$4" ] && head -n 1 "$4" | grep -qx ${JSON.stringify(RECIPE)}; then exit 0; fi`,
      'rm -rf "$1" && cp -a --reflink=auto "$2" "$1"',
      // no cluster at install time, no service started in the chroot
      'mkdir -p "$1/etc/postgresql-common" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.conf"',
      'printf "#!/bin/sh\\nexit 101\\n" >"$1/usr/sbin/policy-rc.d" && chmod 755 "$1/usr/sbin/policy-rc.d"',
      `unshare -m sh -c 'mount -t proc proc "$1/proc" && mount --bind /dev "$1/dev" && chroot "$1" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql"' sh "$1"`,
      'rm -f "$1/usr/sbin/policy-rc.d"',
      'install -m 755 "$5" "$1/usr/local/bin/docker-entrypoint.sh"',
      'major=$(ls "$1/usr/lib/postgresql" | sort -n | tail -n 1)',
      'tar -C "$1" -cf "$3.tmp" . && mv "$3.tmp" "$3"',
      `printf '%s\\n%s\\n' ${JSON.stringify(RECIPE)} "$major" >"$4"`,
      'rm -rf "$1"',
    ].join('\n');
    // one builder per machine at a time (other test files or engineers may want the same image)
    await run('flock', [join(dir, `.postgres-${dist}.lock`), 'sh', '-c', script, 'sh', root, baseImagePath(dist), tar, marker, join(dir, 'entrypoint.sh')], {
      maxBuffer: 64 << 20,
      timeout: 900_000,
    });
  }
  return { tar, major: readFileSync(marker, 'utf8').split('\n')[1].trim() };
}

/** `docker import` of the cached root filesystem on a lab host (Docker must run there). Returns the image name. */
export async function loadPostgresImage(host: string, dist: Dist): Promise<string> {
  const { tar, major } = await postgresRootfsTar(dist);
  const image = `shipshape-lab/postgres:${major}`;
  const inHost = join(hostPaths(host).root, 'var', 'tmp', 'postgres-image.tar');
  rmSync(inHost, { force: true });
  try {
    linkSync(tar, inHost);
  } catch {
    await run('cp', ['--reflink=auto', tar, inHost]);
  }
  const changes = [
    `ENV PATH=/usr/lib/postgresql/${major}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    'ENV PGDATA=/var/lib/postgresql/data',
    'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]',
    'CMD ["postgres"]',
  ];
  const r = await hostExec(host, `docker import ${changes.map((c) => `--change '${c}'`).join(' ')} /var/tmp/postgres-image.tar ${image} && rm -f /var/tmp/postgres-image.tar`);
  if (r.code !== 0) throw new Error(`docker import on ${host} failed: ${r.stderr}`);
  return image;
}
