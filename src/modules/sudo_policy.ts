import { z } from 'zod';
import { defineModule } from '../core/module.js';
import { shq } from '../core/quote.js';
import type { Drift } from '../core/result.js';
import type { Step } from '../core/step.js';
import { isAccountName } from '../facts/users.js';
import { passwordless, sudoPolicy } from '../facts/sudoers.js';

const schema = z
  .object({
    /** the user whose sudo this site declares */
    user: z.string().refine(isAccountName, 'a user name'),
    /** what that user is declared to get: nopasswd | password | none */
    sudo: z.enum(['nopasswd', 'password', 'none']),
    /** sudoers files written by other tasks (the declared rule lives there) */
    managed: z.array(z.string()).default([]),
  })
  .strict();

const NEUTRAL = '# disabled by shipshape (passwordless sudo nobody declared): ';
/** the header playbooks put on the sudoers files they write (the deploy_user role's own says it too) */
const DECLARED = /^#\s*managed by shipshape\b/m;

/**
 * Sudo as sudo grants it: a passwordless rule in a file nobody declared (a second sudoers.d file, a line
 * added to /etc/sudoers) is drift, commented out at its line (visudo-checked); `sudo -l -U` says what the
 * declared user really gets. The connection's own login user is never cut off: its lines are only reported.
 */
export default defineModule({
  name: 'sudo_policy',
  summary: 'No passwordless sudo besides what is declared: foreign NOPASSWD rules are drift, neutralised by apply; judged with sudo -l -U',
  schema,
  facts: (a) => ({ sudo: sudoPolicy(a.user) }),
  plan(a, { sudo }, ctx) {
    const found = sudo.files
      // a file another task of a playbook writes says so in its header: declared, not foreign
      .filter((f) => !a.managed.includes(f.path) && !DECLARED.test(f.content))
      .flatMap((f) => passwordless(f.content).map((l) => ({ ...l, path: f.path })));
    const self = (who: string) => who === ctx.access.user;
    const fixable = found.filter((l) => !self(l.who));
    const kept = found.filter((l) => self(l.who));
    const keptNote = kept.length ? ` (kept, as this run logs in as ${ctx.access.user}: ${kept.map((l) => `${l.path}:${l.line}`).join(', ')})` : '';
    const effective = sudo.none ? 'no sudo' : sudo.rules.join('; ');
    if (!fixable.length) return { steps: [], reason: `no passwordless sudo besides the declared; sudo -l -U ${a.user}: ${effective}${keptNote}` };
    const steps: Step[] = [];
    const diff = [];
    for (const path of [...new Set(fixable.map((l) => l.path))]) {
      const before = sudo.files.find((f) => f.path === path)!.content;
      const text = before.split('\n');
      for (const l of fixable.filter((l) => l.path === path)) text[l.line - 1] = NEUTRAL + text[l.line - 1].trim();
      const after = text.join('\n').replace(/\n?$/, '\n');
      steps.push({ kind: 'write', path, content: after, validate: 'visudo -cf %s' });
      diff.push({ subject: path, before: before.replace(/\n?$/, '\n'), after });
    }
    const drift: Drift[] = fixable.map((l) => ({
      what: `passwordless sudo nobody declared, for ${l.who}: "${l.text}"${l.who === a.user && a.sudo !== 'nopasswd' ? ` (sudo -l -U ${a.user}: ${effective})` : ''}`,
      why: `${l.who === 'everyone' || l.who === 'ALL' ? 'anyone' : l.who} becomes root without a password: one stolen session or key is the whole machine`,
      where: `${l.path}:${l.line}`,
      fix: /^\/etc\/sudoers\.d\//.test(l.path) && passwordless(sudo.files.find((f) => f.path === l.path)!.content).length === sudo.files.find((f) => f.path === l.path)!.content.split('\n').filter((x) => x.trim() && !x.trim().startsWith('#')).length
        ? `rm ${shq(l.path)} (apply comments the line out instead, checked with visudo)`
        : `comment out line ${l.line} of ${l.path} (apply does it, checked with visudo)`,
    }));
    return {
      steps,
      reason: `neutralise ${fixable.length} passwordless sudo rule${fixable.length === 1 ? '' : 's'} nobody declared (${fixable.map((l) => `${l.path}:${l.line}`).join(', ')})${keptNote}`,
      diff,
      drift,
    };
  },
});
