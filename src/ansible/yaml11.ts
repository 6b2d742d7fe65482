/**
 * YAML scalars as Ansible reads them. Ansible parses with PyYAML, i.e. YAML 1.1: `yes`/`no`/`on`/`off`
 * are booleans and an unquoted `0644` is the octal number 420. Reading those files as YAML 1.2 would
 * give them another meaning silently (`when: enable_thing` with `enable_thing: no` would run), so every
 * file shipshape loads is read the way Ansible reads it.
 *
 * The `yaml` package's 1.1 schema is close to PyYAML's; the differences kept here are PyYAML's:
 * `y`/`n` stay strings, dates stay strings (Ansible passes them to templates as written), and a
 * decimal with a leading zero that is not octal (`09`) stays a string.
 */
import type { Tags } from 'yaml';
import { decrypt } from './vault.js';

type Tag = Tags[number] & { tag?: string; test?: RegExp; format?: string };

const BOOL = 'tag:yaml.org,2002:bool';
const INT = 'tag:yaml.org,2002:int';
const TIMESTAMP = 'tag:yaml.org,2002:timestamp';
const FLOAT = 'tag:yaml.org,2002:float';

/** PyYAML's resolver for booleans (no single-letter y/n). */
const PY_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PY_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const PY_DECIMAL = /^[-+]?(?:0|[1-9][0-9_]*)$/;
/**
 * PyYAML's floats need a digit and a dot, and an exponent needs its sign: `e001` (a host name), `1e5`
 * and `.` stay strings, where the `yaml` package would read NaN or a number.
 */
const PY_FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)$/;
const PY_FLOAT_EXP = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)[eE][-+][0-9]+$/;

/** The `customTags` function for `parseDocument(..., { version: '1.1', customTags })`. */
export function ansibleTags(extra: Tags = []): (tags: Tags) => Tags {
  return (tags) => {
    const out: Tags = [];
    for (const t of tags as Tag[]) {
      if (typeof t !== 'object' || t === null) {
        out.push(t);
        continue;
      }
      if (t.tag === TIMESTAMP) continue;
      if (t.tag === BOOL && t.test) {
        const truthy = t.test.test('true');
        out.push({ ...t, test: truthy ? PY_TRUE : PY_FALSE } as Tags[number]);
        continue;
      }
      if (t.tag === FLOAT && t.test && (t.format === 'EXP' || (!t.format && t.test.test('1.5')))) {
        out.push({ ...t, test: t.format === 'EXP' ? PY_FLOAT_EXP : PY_FLOAT } as Tags[number]);
        continue;
      }
      if (t.tag === INT && !t.format && t.test && t.test.test('12')) {
        out.push({ ...t, test: PY_DECIMAL } as Tags[number]);
        continue;
      }
      out.push(t);
    }
    return [...out, ...ANSIBLE_TAGS, ...extra];
  };
}

/**
 * Ansible's own tags: `!vault` (decrypted with the run's vault passwords; a wrong or missing password
 * is an error at the value) and `!unsafe` (a plain string).
 */
const ANSIBLE_TAGS: Tags = [
  {
    tag: '!vault',
    resolve(str: string, onError: (msg: string) => void) {
      try {
        return decrypt(str);
      } catch (e) {
        onError(`!vault: ${(e as Error).message}`);
        return '';
      }
    },
  },
  { tag: '!unsafe', resolve: (str: string) => str },
] as unknown as Tags;

/** Ansible's truth words for a string (module arguments of type bool, `| bool`). */
export function ansibleBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (['yes', 'on', 'true', '1', 'y', 't'].includes(s)) return true;
  if (['no', 'off', 'false', '0', 'n', 'f'].includes(s)) return false;
  return undefined;
}
