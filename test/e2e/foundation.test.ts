/**
 * Foundation, end to end: one playbook using every first module, against two fresh lab hosts.
 * What an operator relies on: `check` predicts exactly what `apply` changes; a second apply changes
 * nothing; a hand edit on one host is found by `check` (exit 2, with a diff naming the file, on that
 * host only) and undone by `apply`; `validate` keeps a broken file off the host; an unreachable host
 * is reported while the others finish (exit 4).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURES,
  changedTasks,
  freshHosts,
  hostExec,
  labPublicKey,
  shipshape,
  shipshapeJson,
  sshLogin,
  writeInventory,
  type JsonReport,
  type Lab,
  type LabHost,
} from './support.js';

const PLAYBOOK = join(FIXTURES, 'foundation', 'site.yml');
const BAD_SUDOERS = join(FIXTURES, 'foundation', 'bad-sudoers.yml');
const HOSTS = ['h1', 'h2'];
/** every module of issue 2's "First modules": the fixture must use them all */
const MODULES = ['apt', 'file', 'copy', 'template', 'user', 'group', 'authorized_key', 'service', 'sysctl', 'cron', 'command'];
/** inside the lab network, never assigned to a host: nothing answers there */
const GHOST = '10.99.0.250';

const SUDOERS = '# managed by shipshape\n%opsteam ALL=(root) NOPASSWD: /usr/bin/systemctl status *\n';

/** What the template must render on each host: host_vars beat host vars in hosts.yml, which beat group_vars/all, which beat all.vars. */
const appConf = (host: string, addr: string, tier: string, contact: string) =>
  `# managed by shipshape: edits here are undone by the next apply\nhost = ${host}\ntier = ${tier}\ncontact = ${contact}\nlisten = ${addr}:8080\n`;

let lab: Lab;
let inventory: string;
const timings: string[] = [];

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/**
 * The lab hosts as root (the playbook creates no login user of its own), variables on four
 * inventory layers so the rendered template shows their precedence.
 */
function foundationInventory(hosts: LabHost[]): string {
  const dir = writeInventory(lab, hosts, {
    vars: { user: 'root', lab_public_key: labPublicKey(lab), app_tier: 'from-all-vars', contact: 'from-all-vars' },
    hostVars: { h2: { contact: 'h2-oncall@example.test' } },
  });
  writeFileSync(join(dir, 'group_vars.yml.unused'), '');
  writeGroupAndHostVars(dir);
  return dir;
}

function writeGroupAndHostVars(dir: string): void {
  // group_vars/all beats all.vars of hosts.yml; host_vars/h1 beats both
  const { mkdirSync } = require_fs();
  mkdirSync(join(dir, 'group_vars'), { recursive: true });
  writeFileSync(join(dir, 'group_vars', 'all.yml'), 'app_tier: web\ncontact: ops@example.test\n');
  writeFileSync(join(dir, 'host_vars', 'h1.yml'), 'app_tier: primary-web\n');
}
