// A fault for end-to-end tests, kept out of the product: loaded into the real CLI with
// NODE_OPTIONS=--import, it wraps the SSH transport so that the controller dies (SIGKILL) right
// after the round trip that armed the guard and applied an access-critical change, before the new
// login that would confirm it. The host must then revert by itself. The change is the sshd one (its
// drop-in is among the files the guard snapshots); earlier guarded tasks (sudoers) are let through.
import { cliSshTransport } from './cli-ssh-transport.mjs';

const SshTransport = await cliSshTransport();

const run = SshTransport.prototype.run;
SshTransport.prototype.run = async function (script, opts) {
  const result = await run.call(this, script, opts);
  if (result.code === 0 && script.includes('shipshape-revert-') && script.includes('revert.sh') && script.includes('/etc/ssh/sshd_config.d/')) process.kill(process.pid, 'SIGKILL');
  return result;
};
