// The public API's promise: a role's tasks are typed by module. `npm run test:unit` type-checks this
// file first, so each @ts-expect-error below FAILS the run if the mistake it marks ever compiles.
import { describe, expect, it } from 'vitest';
import { defineModule, defineRole, fileContent, run, z, type RoleTask } from '../../../src/index.js';

const good: RoleTask[] = [
  { name: 'curl', module: 'apt', args: { name: ['curl'], state: 'present' } },
  { name: 'motd', module: 'copy', args: { dest: '/etc/motd', content: 'hi\n', mode: '0644' } },
];

const wrongArgument: RoleTask[] = [
  // @ts-expect-error apt has no argument `package`
  { name: 'curl', module: 'apt', args: { package: 'curl' } },
];
const wrongValue: RoleTask[] = [
  // @ts-expect-error apt's state is present|absent|latest
  { name: 'curl', module: 'apt', args: { name: ['curl'], state: 'installed' } },
];
const unknownModule: RoleTask[] = [
  // @ts-expect-error no module `aptt`
  { name: 'curl', module: 'aptt', args: {} },
];
const internal: RoleTask[] = [
  // @ts-expect-error caddy_reload belongs to the caddy role, not to other roles
  { name: 'reload', module: 'caddy_reload', args: {} },
];

const marker = defineModule({
  name: 'marker',
  summary: 'a one-word file',
  schema: z.object({ path: z.string(), word: z.string() }),
  facts: (a) => ({ file: fileContent(a.path) }),
  plan: (a, f) => (f.file.content === a.word ? { steps: [], reason: 'same' } : { steps: [run(['true'])], reason: 'differs' }),
});

const withOwnModule = defineRole<{ w: string }, { marker: typeof marker }>({
  name: 'with_own',
  summary: 'a role using its own module',
  vars: z.object({ w: z.string().default('x') }),
  modules: { marker },
  tasks: (v) => [{ name: 'marker', module: 'marker', args: { path: '/etc/marker', word: v.w } }],
});

export const badOwn = defineRole<{ w: string }, { marker: typeof marker }>({
  name: 'bad_own',
  summary: 'a wrong argument to its own module',
  vars: z.object({ w: z.string().default('x') }),
  modules: { marker },
  // @ts-expect-error the role's own module checks its arguments too (`words`)
  tasks: (v) => [{ name: 'marker', module: 'marker', args: { path: '/etc/marker', words: v.w } }],
});

describe('typed role tasks', () => {
  it('the mistakes above are compile errors (tsc runs before the unit tests); the good tasks compile', () => {
    expect(good).toHaveLength(2);
    expect([wrongArgument, wrongValue, unknownModule, internal].every((l) => l.length === 1)).toBe(true);
    expect(withOwnModule.modules?.marker.name).toBe('marker');
  });
});

// inferred from defineRole's argument, without naming the role's types: still checked
// @ts-expect-error apt has no argument `package`
export const inferred = defineRole({
  name: 'inferred',
  summary: 'types inferred from the call',
  vars: z.object({}),
  tasks: () => [{ name: 'curl', module: 'apt', args: { package: 'curl' } }],
});
