import { describe, expect, it } from 'vitest';
import { parseDockerDaemon } from '../../../src/facts/docker.js';
import { planFor } from '../helpers/plan.js';

const declared = { 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '3' } };
const file = JSON.stringify(declared, null, 2) + '\n';
// the probe on a Debian 12 host whose dockerd was restarted with journald, then daemon.json put back
const probe = (driver: string, json = file) =>
  `{"ID":"x","Containers":0,"Driver":"overlay2","LoggingDriver":"${driver}","CgroupDriver":"systemd","Debug":false,"LiveRestoreEnabled":false,"ServerVersion":"20.10.24+dfsg1"}\n\n==daemon.json==\n${json}`;

describe('docker_daemon', () => {
  it('parses docker info and the file', () => {
    expect(parseDockerDaemon(probe('journald'))).toEqual({ running: true, info: { LoggingDriver: 'journald', Driver: 'overlay2', LiveRestoreEnabled: 'false', Debug: 'false' }, file });
    expect(parseDockerDaemon('').running).toBe(false);
  });

  it('a daemon running other settings than the (correct) daemon.json is drift, fixed by a restart', () => {
    const p = planFor('docker_daemon', { config: declared }, { docker: parseDockerDaemon(probe('journald')) });
    expect(p.steps).toEqual([{ kind: 'run', argv: ['systemctl', 'reset-failed', 'docker'] }, { kind: 'run', argv: ['systemctl', 'restart', 'docker'] }]);
    expect(p.drift?.[0].what).toBe('the running Docker daemon uses log-driver "journald", daemon.json declares "json-file" (docker info LoggingDriver)');
    expect(p.drift?.[0].fix).toBe('systemctl reset-failed docker; systemctl restart docker');
  });

  it('no drift when it agrees, and none of its own while daemon.json itself differs (the copy task restarts)', () => {
    expect(planFor('docker_daemon', { config: declared }, { docker: parseDockerDaemon(probe('json-file')) }).steps).toEqual([]);
    expect(planFor('docker_daemon', { config: declared }, { docker: parseDockerDaemon(probe('journald', '{"log-driver": "journald"}\n')) }).steps).toEqual([]);
  });
});
