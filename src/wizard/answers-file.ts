/**
 * `shipshape init --answers FILE`: every answer checked before any host is contacted, each mistake
 * reported at its `file:line:column` with an example of a good value (exit 64), using the same role
 * variable schemas a run validates the inventory with.
 */
import type { z } from 'zod';
import { InputError } from '../core/input-error.js';
import { nearest } from '../core/suggest.js';
import { YamlFile, type YNode } from '../inventory/yaml-doc.js';
import type { RoleDef } from '../playbook/role.js';
import { ANSWER_KEYS, EXAMPLES, backupAnswersMissing, REQUIRED, ROLE_KEYS, SECRET_ANSWERS, baseAnswers, connectionAnswers, defaultName, type Answers } from './answers.js';

/** Secrets may come from the environment instead of the answers file (CI keeps them there). */
export const SECRET_ENV: Record<string, string> = { become_password: 'SHIPSHAPE_BECOME_PASSWORD', backup_restic_password: 'SHIPSHAPE_BACKUP_RESTIC_PASSWORD' };

/**
 * Parse and check an answers file. `defaults` are the answers an earlier run left in the project
 * folder: a key missing from the file keeps that value, and only a key with no value anywhere is missing.
 */
export function parseAnswersFile(path: string, text: string, defaults: Partial<Answers>, roles: Record<string, RoleDef>, env: NodeJS.ProcessEnv = process.env): Answers {
  const f = YamlFile.parse(path, text, { secretKeys: SECRET_ANSWERS });
  const root = f.root;
  if (root === null || !f.isMap(root)) {
    throw f.error(root, 'an answers file is a mapping of answers, e.g. `host: 203.0.113.10`', `start from the example in the README ("shipshape init")`);
  }
  const errors: InputError[] = [];
  const given: Record<string, unknown> = {};
  const nodes = new Map<string, YNode>();
  for (const e of f.entries(root)) {
    if (!ANSWER_KEYS.includes(e.key)) {
      const near = nearest(e.key, ANSWER_KEYS);
      errors.push(f.error(e.keyNode, `unknown answer \`${e.key}\``, near ? `did you mean \`${near}\`? (${EXAMPLES[near]})` : `the answers are: ${ANSWER_KEYS.join(', ')}`));
      continue;
    }
    given[e.key] = f.js(e.value);
    nodes.set(e.key, e.keyNode);
  }
  for (const [key, name] of Object.entries(SECRET_ENV)) if (given[key] === undefined && env[name]) given[key] = env[name];

  const at = (path: PropertyKey[]): YNode | null => {
    const key = String(path[0]);
    if (path.length > 1) {
      const deep = f.doc.getIn(path.map((p) => (typeof p === 'symbol' ? String(p) : p)), true) as YNode | undefined;
      if (deep && typeof deep === 'object' && 'range' in deep) return deep;
    }
    return nodes.get(key) ?? null;
  };
  const report = (issues: z.core.$ZodIssue[]) => {
    for (const i of issues) {
      const key = String(i.path[0] ?? '');
      const where = i.path.map(String).join('.');
      errors.push(f.error(at(i.path), `${where || 'answers'}: ${i.message}`, EXAMPLES[key] ? `for example: ${EXAMPLES[key]}` : undefined));
    }
  };

  const conn = connectionAnswers.safeParse(given);
  if (!conn.success) report(conn.error.issues.filter((i) => i.path.length > 0 && given[String(i.path[0])] !== undefined));
  if (given.user !== undefined && given.user !== (given.deploy_user ?? defaults.deploy_user ?? 'deploy')) {
    errors.push(
      f.error(
        nodes.get('user'),
        `user: the inventory's \`user\` is the login every run uses from now on, which is the deploy user the wizard creates; the login a fresh VPS gives (e.g. root) is \`bootstrap_user\``,
        `for example: bootstrap_user: ${String(given.user)}`,
      ),
    );
  }

  const merged = { ...defaults, ...given } as Record<string, unknown>;
  for (const [key, example] of Object.entries(REQUIRED)) {
    if (merged[key] === undefined || (Array.isArray(merged[key]) && (merged[key] as unknown[]).length === 0)) {
      errors.push(new InputError(`missing answer \`${key}\``, { file: path, hint: `add it, for example: ${example}` }));
    }
  }

  // role variables: the roles' own schemas, on the keys this file gives
  for (const [role, keys] of Object.entries(ROLE_KEYS)) {
    const def = roles[role];
    const mine = keys.filter((k) => given[k] !== undefined);
    if (!def || mine.length === 0) continue;
    const r = def.vars.safeParse(Object.fromEntries(keys.filter((k) => merged[k] !== undefined).map((k) => [k, merged[k]])));
    if (!r.success) report(r.error.issues.filter((i) => mine.includes(String(i.path[0]))));
  }
  for (const key of backupAnswersMissing(merged)) {
    errors.push(new InputError(`missing answer \`${key}\``, { file: path, hint: `backup_paths is set, and the backup role sends every backup off-site; for example: ${EXAMPLES[key]}` }));
  }
  if (given.backup === true && !roles.backup) {
    errors.push(f.error(nodes.get('backup'), 'backup: true, but this shipshape has no backup role yet', 'for example: backup: false'));
  }

  const all = InputError.combine(errors);
  if (all) throw all;
  const a = merged as Partial<Answers>;
  return baseAnswers({ ...a, name: a.name ?? defaultName(a.host ?? '') });
}
