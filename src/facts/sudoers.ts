import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';
import { dumpAsTail, dumpFiles, fileDump, splitFileDump } from './dump.js';

const FILES = ['/etc/sudoers', '/etc/sudoers.d/*'];

export interface SudoFacts {
  /** /etc/sudoers and every file in /etc/sudoers.d, with their text */
  files: { path: string; content: string }[];
  /** the rules `sudo -l -U USER` lists for the user: what sudo really grants, from every file and group */
  rules: string[];
  /** sudo says the user may not run sudo at all */
  none: boolean;
}

const RULES = '==sudo-l==';

/**
 * The sudo policy files and what sudo itself says one user gets (`sudo -l -U`, as root: no password asked).
 * The files come from the play's one file dump; the answer is the text the whole probe printed on its own.
 */
export function sudoPolicy(user: string) {
  const files = fileDump(FILES);
  const listed = probe(`sudo-l:${user}`, `command -v sudo >/dev/null && sudo -n -l -U ${shq(user)} 2>&1`, (out) => out, {
    inline: true,
    // sudo -l waits on PAM and the policy plugins: about 5 ms
    cost: 5,
  });
  return probe<SudoFacts>(
    `sudo-policy:${user}`,
    [dumpFiles(FILES), `echo ${RULES}`, listed.script].join('\n'),
    parseSudo,
    {
      inline: true,
      compose: {
        parts: [files, listed],
        join: ([dump, rules]) => ({ stdout: `${dumpAsTail(dump.stdout)}${RULES}\n${rules.stdout}`, code: rules.code }),
      },
    },
  );
}

export function parseSudo(out: string): SudoFacts {
  const at = out.indexOf(`${RULES}\n`);
  const head = at < 0 ? out : out.slice(0, at);
  const tail = at < 0 ? '' : out.slice(at + RULES.length + 1);
  const files = splitFileDump(head);
  const lines = tail.split('\n');
  const from = lines.findIndex((l) => /may run the following commands/.test(l));
  const rules = from < 0 ? [] : lines.slice(from + 1).map((l) => l.trim()).filter(Boolean);
  return { files, rules, none: /is not allowed to run sudo/.test(tail) || from < 0 };
}

/** Lines of a sudoers file that let someone run sudo without a password: NOPASSWD rules and `Defaults !authenticate`. */
export function passwordless(content: string): { line: number; text: string; who: string }[] {
  const out: { line: number; text: string; who: string }[] = [];
  content.split('\n').forEach((raw, i) => {
    const text = raw.trim();
    if (!text || text.startsWith('#') || /^@?include/.test(text)) return;
    if (/^Defaults\b/.test(text)) {
      if (/!\s*authenticate\b/.test(text)) out.push({ line: i + 1, text, who: /^Defaults[:>!@]\s*(\S+)/.exec(text)?.[1] ?? 'everyone' });
      return;
    }
    if (/\bNOPASSWD\s*:/.test(text)) out.push({ line: i + 1, text, who: text.split(/\s+/)[0] });
  });
  return out;
}
