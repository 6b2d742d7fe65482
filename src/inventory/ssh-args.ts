/**
 * Ansible's `ansible_ssh_common_args` / `ansible_ssh_extra_args`: options Ansible adds to its `ssh`
 * command line. shipshape speaks SSH itself, so it honours what it can do the same way (a bastion:
 * `-o ProxyJump=...` or `-J ...`, the same path as ProxyJump in ~/.ssh/config) and refuses every other
 * option with the reason: ignoring one would reach the host differently from Ansible's ssh.
 */
import { shlexSplit } from '../core/shlex.js';

export type SshArgs = { proxyJump?: string; refused?: never } | { refused: { option: string; why: string } };

/** why an option is refused, by its lower-case keyword (or flag) */
const WHY: Record<string, string> = {
  proxycommand: 'ProxyCommand runs a program shipshape cannot run; write `-o ProxyJump=[user@]bastion[:port]` (or `-J`) to go through a bastion',
  stricthostkeychecking: 'host keys are always checked: put them in known_hosts beside the inventory, or pass --accept-new-host-keys once',
  userknownhostsfile: 'host keys are read from known_hosts beside the inventory and ~/.ssh/known_hosts',
  identityfile: 'set `ansible_ssh_private_key_file` (identity_file) instead',
  '-i': 'set `ansible_ssh_private_key_file` (identity_file) instead',
  port: 'set `ansible_port` (port) instead',
  '-p': 'set `ansible_port` (port) instead',
  user: 'set `ansible_user` (user) instead',
  '-l': 'set `ansible_user` (user) instead',
  controlmaster: 'not needed: shipshape keeps one connection per host for the whole run; remove it',
  controlpersist: 'not needed: shipshape keeps one connection per host for the whole run; remove it',
  controlpath: 'not needed: shipshape keeps one connection per host for the whole run; remove it',
  forwardagent: 'agent forwarding is not supported: the host never needs the operator\'s keys',
  '-a': 'agent forwarding is off already; remove it',
  '-A': 'agent forwarding is not supported: the host never needs the operator\'s keys',
};

/** OpenSSH flags that take a value (`-o X`, `-J X`, ...), so the value is not read as a flag */
const WITH_VALUE = 'BbcDEeFIiJLlmOoPpQRSWw';

/**
 * The bastion the arguments name, or the first option shipshape cannot honour. `ProxyJump=none`
 * means no bastion (as in ssh); the keyword is matched without regard to case, as ssh does.
 */
export function parseSshArgs(text: string): SshArgs {
  let words: string[];
  try {
    words = shlexSplit(text);
  } catch (e) {
    return { refused: { option: text, why: (e as Error).message } };
  }
  let proxyJump: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const flag = /^-([A-Za-z])(.*)$/.exec(w);
    if (!flag) return { refused: { option: w, why: 'not an ssh option' } };
    const [, letter, attached] = flag;
    const takes = WITH_VALUE.includes(letter);
    const value = takes ? (attached || words[++i]) : undefined;
    if (takes && value === undefined) return { refused: { option: w, why: 'needs a value' } };
    if (letter === 'J') {
      proxyJump = value!;
      continue;
    }
    if (letter === 'o') {
      const m = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/.exec(value!);
      if (!m) return { refused: { option: `-o ${value}`, why: 'write it as -o Keyword=value' } };
      const key = m[1].toLowerCase();
      if (key === 'proxyjump') {
        proxyJump = m[2].trim();
        continue;
      }
      return { refused: { option: `-o ${value}`, why: WHY[key] ?? `shipshape does not honour \`${m[1]}\`; only \`-o ProxyJump=...\` / \`-J\` are, so the host would be reached differently from Ansible's ssh` } };
    }
    const shown = takes ? `${w}${attached ? '' : ` ${value}`}` : w;
    return { refused: { option: shown, why: WHY[`-${letter}`] ?? 'shipshape does not honour this ssh flag; only `-o ProxyJump=...` / `-J` are' } };
  }
  return proxyJump === undefined || /^none$/i.test(proxyJump) ? {} : { proxyJump };
}
