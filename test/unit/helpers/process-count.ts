/**
 * An upper bound of the processes a rendered batch script starts on a Debian host, read from its text:
 * every external tool in command position (after any VAR=value prefix), every pipe (its left side is a forked shell when a builtin),
 * every subshell `( ... )`, and every `$( ... )` that does not start with an external tool (dash execs a
 * lone external command in the substitution's own fork). Both branches of an `if` count, loops count
 * once; the two lanes' pipeline is its pipe and its `cat`: an estimate from above, for tests that hold the number down; the e2e test measures the real one.
 */
const EXTERNAL = new Set(
  (
    'stat sha256sum sha1sum head tail cat getent systemctl dpkg-query dpkg sshd sudo date apt-config iptables ip6tables curl docker ' +
    'openssl timeout journalctl grep sed awk cut find ip hostname uname systemd-detect-virt sysctl sh readlink ufw apt-get apt-cache ' +
    'crontab id python3 wc sort tr xargs ls mktemp cmp diff nft iptables-save base64 rm'
  ).split(' '),
);

export function countProcesses(script: string): { total: number; commands: Record<string, number> } {
  const commands: Record<string, number> = {};
  const body = script
    .split('\n')
    // the engine's own framing: section markers and the self-measurement are builtins
    .filter((l) => !/^printf '(\\n)?%s/.test(l) && !l.startsWith('{ read __ss_p'))
    .join('\n');
  let total = 0;
  const position = /(?<=^|[;&|({`]|\$\(|\b(?:then|do|else|if|while|until)\s|!\s)\s*(?:[A-Za-z_]\w*=[\w./:-]*\s+)*([A-Za-z_][\w.-]*)/gm;
  for (const m of body.matchAll(position)) {
    const word = m[1];
    if (!EXTERNAL.has(word)) continue;
    commands[word] = (commands[word] ?? 0) + 1;
    total++;
  }
  // pipes (not ||, not a case pattern's alternatives `a|b)`): the left side may be a forked builtin
  total += (body.match(/(?<![|])\|(?![|])(?![^\s;&()]*\))/g) ?? []).length;
  // subshells: a ( that does not belong to $( and is not inside a case pattern
  total += (body.match(/(?<![$\w])\((?=\s|$)/gm) ?? []).length;
  // command substitutions whose first word is not an external tool
  for (const m of body.matchAll(/\$\((?!\()\s*([A-Za-z_][\w.-]*)?/g)) if (!m[1] || !EXTERNAL.has(m[1])) total++;
  return { total, commands };
}
