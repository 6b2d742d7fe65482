import { join } from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { keysAt, loadPlaybook, parseModuleArgs, renderValue, validateModuleArgs, type TaskSpec } from '../../../src/playbook/index.js';
import { modules, roles } from './fake-modules.js';

const at = { file: 'site.yml', line: 4, column: 7 };

describe('validateModuleArgs (for the engine, after rendering)', () => {
  it('returns the parsed arguments with defaults', () => {
    expect(validateModuleArgs(modules.file, { path: '/srv' }, { module: 'file', at })).toEqual({ ok: true, value: { path: '/srv', state: 'file' } });
  });

  it('positions an error found after rendering at the YAML the value came from', async () => {
    const pb = await loadPlaybook(join(import.meta.dirname, '../../fixtures/playbooks/site.yml'), { modules, roles });
    const task = pb.plays[0].items[3] as TaskSpec;
    const rendered = renderValue(task.args, { app_dir: '/srv/shop' }) as Record<string, unknown>;
    // pretend the rendered mode came out as a number no mode can be
    const r = validateModuleArgs(modules.file, { ...rendered, mode: 99999 }, { module: task.module, at: task.source, argSources: task.argSources });
    expect(r.ok).toBe(false);
    const e = (r as { errors: InputError[] }).errors[0];
    expect([e.location, e.message, e.hint]).toEqual([
      `${task.source.file}:25:15`,
      'bad value for argument `mode` of `file`: mode must be an octal string like "0644"',
      undefined, // the YAML has it quoted: "quote it" would be wrong advice
    ]);
  });

  it('parseModuleArgs throws one InputError carrying every problem', () => {
    try {
      parseModuleArgs(modules.apt, { nam: 'x', state: 'gone', extra: 1 }, { module: 'apt', at });
      expect.unreachable();
    } catch (e) {
      const x = e as InputError;
      expect([x.message, ...x.others.map((o) => o.message)]).toEqual([
        'unknown argument `nam` for `apt`',
        'unknown argument `extra` for `apt`',
        'bad value for argument `state` of `apt`: invalid option: expected one of "present"|"absent"|"latest"',
      ]);
      // no position known for these keys: the task's
      expect(x.location).toBe('site.yml:4:7');
    }
  });

  it('with skipTemplated, leaves values that are still templates to later', () => {
    expect(validateModuleArgs(modules.listen_port, { port: '{{ p }}' }, { module: 'listen_port', at, skipTemplated: true }).ok).toBe(true);
    expect(validateModuleArgs(modules.listen_port, { port: '{{ p }}' }, { module: 'listen_port', at }).ok).toBe(false);
  });
});

describe('keysAt', () => {
  it('sees through optional, default, preprocess, unions and nesting', () => {
    const schema = z.preprocess(
      (v) => v,
      z.object({ a: z.string(), nested: z.object({ x: z.number(), y: z.number() }).optional(), list: z.array(z.object({ k: z.string() })).default([]) }),
    );
    expect(keysAt(schema, [])).toEqual(['a', 'nested', 'list']);
    expect(keysAt(schema, ['nested'])).toEqual(['x', 'y']);
    expect(keysAt(schema, ['list', 0])).toEqual(['k']);
    expect(keysAt(z.union([z.object({ p: z.string() }), z.object({ q: z.string() })]), [])).toEqual(['p', 'q']);
  });
});
