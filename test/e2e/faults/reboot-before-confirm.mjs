// A fault for end-to-end tests, kept out of the product: loaded into the real CLI with
// NODE_OPTIONS=--import, it wraps the SSH transport so that right after the round trip that armed the
// guard and applied the sshd change, the host reboots and the controller dies (SIGKILL), before the
// login that would confirm it. The transient revert timer is gone with the reboot: the host must
// revert by itself at boot.
import { cliSshTransport } from './cli-ssh-transport.mjs';

const SshTransport = await cliSshTransport();

const run = SshTransport.prototype.run;
SshTransport.prototype.run = async function (script, opts) {
  const result = await run.call(this, script, opts);
  if (result.code === 0 && script.includes('shipshape-revert-') && script.includes('revert.sh') && script.includes('/etc/ssh/sshd_config.d/')) {
    run.call(this, 'systemctl reboot', opts).catch(() => undefined);
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1500);
    await new Promise(() => undefined);
  }
  return result;
};
