// The lab's public API, for e2e tests, the demo and scripts/lab.ts.
export { DISTS, type Dist, DEFAULT_DIST, DIST_LABEL, isDist, parseDist } from './dists.js';
export { GATEWAY, DOMAIN, type LabHost, labHost, hostNames } from './addressing.js';
export { type Lab, type LabUpOptions, type LabStatus, labUp, labDown, resetHost, labStatus, describeLab } from './lifecycle.js';
export { type ExecResult, hostExec, nsExec } from './host.js';
export { addDnsName } from './services.js';
export { sshOptions } from './ssh.js';
export { type LabAptRepo, type LabPackage, APT_REPO_PORT, ensureAptRepo, hostAptDirectConf, stopAptRepo } from './apt-repo.js';
