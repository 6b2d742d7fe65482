import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { probe } from '../core/probe.js';
import { run } from '../core/step.js';

/**
 * Ansible's `reboot`: reboot the host and wait until it is back (a new login on a new boot, then
 * `test_command` succeeding) before the next task. Always reboots, as Ansible's does: guard it with
 * `when` (e.g. on /var/run/reboot-required). In check it reports that it would reboot.
 */
const schema = z
  .object({
    reboot_timeout: z.number().int().positive().default(600),
    /** seconds after the host is back before the test command and the next task */
    post_reboot_delay: z.number().int().nonnegative().default(0),
    /** seconds before rebooting (Ansible gives shutdown whole minutes) */
    pre_reboot_delay: z.number().int().nonnegative().default(0),
    test_command: z.string().min(1).default('whoami'),
    msg: z.string().default('Reboot initiated by Ansible'),
    connect_timeout: z.number().int().positive().optional(),
  })
  .strict();

type Args = z.infer<typeof schema>;

const bootId = probe<string>('boot-id', 'cat /proc/sys/kernel/random/boot_id', (out) => out.trim());

export default defineModule({
  name: 'reboot',
  summary: 'Reboot the host and wait until it is back, then continue with the next task (Ansible: reboot)',
  schema,
  facts: () => ({ boot: bootId }),
  plan(a: Args, { boot }: { boot: string }): Plan {
    // scheduled by systemd a moment later, so the step returns before the connection drops
    const delay = Math.max(2, a.pre_reboot_delay);
    return {
      steps: [run(['systemd-run', '--quiet', '--no-block', `--on-active=${delay}`, '--', '/bin/systemctl', 'reboot'])],
      reason: `reboot (${a.msg})`,
      reboot: { bootId: boot, timeoutSec: a.reboot_timeout, postDelaySec: a.post_reboot_delay, test: a.test_command },
    };
  },
});
