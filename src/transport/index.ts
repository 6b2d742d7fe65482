/** Entry point for the rest of shipshape: pick a transport for a host. */
import { LocalTransport } from './local.js';
import { SshTransport, type SshTransportOptions } from './ssh.js';
import type { ConnectionSpec, Transport } from './types.js';

export { BecomeError, UnreachableError } from './types.js';
export type { ConnectionSpec, ExecResult, RunOptions, Transport } from './types.js';
export { LocalTransport } from './local.js';
export { SshTransport, type SshTransportOptions } from './ssh.js';
export { RecordingTransport, okResult, recordingSpec, type RecordedCall, type Responder } from './recording.js';
export { loadSshConfig, resolveSshConfig, type SshConfigResult } from './ssh-config.js';

/** `log` receives operator-facing notes (skipped keys, newly recorded host keys, sudo warnings). */
export function createTransport(spec: ConnectionSpec, options: SshTransportOptions = {}): Transport {
  switch (spec.kind) {
    case 'local':
      return new LocalTransport(spec, { log: options.log });
    case 'ssh':
    case undefined:
      return new SshTransport(spec, options);
    default:
      throw new Error(`unknown transport kind ${JSON.stringify(spec.kind)} for ${spec.name}`);
  }
}
