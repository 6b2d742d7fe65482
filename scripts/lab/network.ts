// The lab network: bridge ss-br0 holding the gateway address, one network namespace per host (ss-hN) with
// a veth pair (eth0 inside). All names and MACs come from addressing.ts.
import { BRIDGE, GATEWAY, PREFIX_LEN, isHostName, labHost, hostNumber, macAddress, netnsName, vethName } from './addressing.js';
import { isAlive, sh, shTry, signal, waitGone } from './shell.js';

export async function linkExists(dev: string): Promise<boolean> {
  return (await shTry`ip link show dev ${dev}`).exitCode === 0;
}

export async function ensureBridge(): Promise<void> {
  if (!(await linkExists(BRIDGE))) {
    await sh`ip link add name ${BRIDGE} address ${macAddress('bridge')} type bridge stp_state 0`;
  } else {
    // an older bridge without its own MAC takes its lowest port's, which moves when hosts come and go
    await sh`ip link set dev ${BRIDGE} address ${macAddress('bridge')}`;
  }
  await sh`ip addr replace ${`${GATEWAY}/${PREFIX_LEN}`} dev ${BRIDGE}`;
  await sh`ip link set dev ${BRIDGE} up`;
}

export async function deleteBridge(): Promise<void> {
  if (await linkExists(BRIDGE)) await sh`ip link del dev ${BRIDGE}`;
}

export async function netnsExists(name: string): Promise<boolean> {
  return (await shTry`ip netns pids ${netnsName(name)}`).exitCode === 0;
}

export async function netnsPids(name: string): Promise<number[]> {
  const r = await shTry`ip netns pids ${netnsName(name)}`;
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
}

/** Host names of every ss-hN namespace on the machine, including leftovers of an earlier session. */
export async function labNamespaces(): Promise<string[]> {
  const r = await shTry`ip netns list`;
  return [...r.stdout.matchAll(/^ss-(h[1-9][0-9]*)\b/gm)].map((m) => m[1]).filter(isHostName);
}

/** Namespace + veth + addresses + routes, and forwarding set from OUTSIDE (/proc/sys is read-only inside). */
export async function createHostNetwork(name: string): Promise<void> {
  const n = hostNumber(name);
  const ns = netnsName(name);
  const veth = vethName(name);
  const { addr } = labHost(name);
  await sh`ip netns add ${ns}`;
  await sh`ip link add name ${veth} address ${macAddress('gateway-side', n)} type veth peer name eth0 address ${macAddress('host-side', n)} netns ${ns}`;
  await sh`ip link set dev ${veth} master ${BRIDGE} up`;
  await sh`ip -n ${ns} link set dev lo up`;
  await sh`ip -n ${ns} addr add ${`${addr}/${PREFIX_LEN}`} dev eth0`;
  await sh`ip -n ${ns} link set dev eth0 up`;
  await sh`ip -n ${ns} route add default via ${GATEWAY}`;
  await sh`ip netns exec ${ns} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1`;
}

/**
 * Kill everything still in the namespace, then delete it. A container whose nspawn was SIGKILLed keeps
 * running (and answering SSH) in the namespace, and `ip netns del` alone would not stop it.
 */
export async function deleteHostNetwork(name: string): Promise<void> {
  const pids = await netnsPids(name);
  for (const pid of pids) signal(pid, 'SIGKILL');
  await waitGone(pids, 10_000);
  const left = (await netnsPids(name)).filter(isAlive);
  if (left.length > 0) throw new Error(`processes ${left.join(' ')} survive SIGKILL in ${netnsName(name)}`);
  if (await netnsExists(name)) await sh`ip netns del ${netnsName(name)}`;
  // deleting the namespace destroys its eth0 and with it the pair; a half-made pair may be left alone
  if (await linkExists(vethName(name))) await shTry`ip link del dev ${vethName(name)}`;
}

/** Stray ss-hN-br links whose namespace is gone (e.g. a creation interrupted between two steps). */
export async function labVeths(): Promise<string[]> {
  const r = await shTry`ip -o link show`;
  return [...r.stdout.matchAll(/^\d+: ss-(h[1-9][0-9]*)-br[@:]/gm)].map((m) => m[1]).filter(isHostName);
}
