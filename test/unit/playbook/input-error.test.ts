import { describe, expect, it } from 'vitest';
import { InputError, sortErrors } from '../../../src/core/input-error.js';
import { didYouMean, editDistance, nearest } from '../../../src/core/suggest.js';

describe('InputError.format', () => {
  it('prints location, message, the line and a caret with the hint', () => {
    const e = new InputError('unknown key `identiy_file`', { file: 'inv/hosts.yml', line: 12, column: 7, frame: '      identiy_file: ~/.ssh/k', hint: 'did you mean `identity_file`?' });
    expect(e.format()).toBe(['inv/hosts.yml:12:7: unknown key `identiy_file`', '  12 |       identiy_file: ~/.ssh/k', '     |       ^ did you mean `identity_file`?'].join('\n'));
  });

  it('keeps tabs so the caret lines up', () => {
    const e = new InputError('x', { file: 'f', line: 1, column: 3, frame: '\t\tkey: v' });
    expect(e.format().split('\n')[2]).toBe('    | \t\t^');
  });

  it('works without a position or without a file', () => {
    expect(new InputError('no such file', { file: 'a.yml', hint: 'check the path' }).format()).toBe('a.yml: no such file\n  check the path');
    expect(new InputError('--forks wants a number').format()).toBe('--forks wants a number');
  });

  it('combines problems; the first is the headline, format lists them all (capped)', () => {
    const errs = Array.from({ length: 4 }, (_, i) => new InputError(`p${i}`, { file: 'f', line: i + 1, column: 1 }));
    const all = InputError.combine(errs)!;
    expect(all.message).toBe('p0');
    expect(all.format(2)).toBe('f:1:1: p0\n\nf:2:1: p1\n\nf:3:1: p2\n\n... and 1 more problems');
    expect(InputError.combine([])).toBeUndefined();
  });

  it('sorts problems in reading order', () => {
    const a = new InputError('a', { file: 'x', line: 5, column: 2 });
    const b = new InputError('b', { file: 'x', line: 2, column: 9 });
    const c = new InputError('c', { file: 'y', line: 1, column: 1 });
    expect(sortErrors([a, c, b]).map((e) => e.message)).toEqual(['b', 'a', 'c']);
  });
});

describe('nearest', () => {
  it.each([
    ['nmae', ['name', 'tags', 'when'], 'name'], // transposition
    ['hostz', ['hosts', 'children', 'vars'], 'hosts'],
    ['childrens', ['hosts', 'children', 'vars'], 'children'],
    ['prt', ['port', 'user'], 'port'],
    ['Name', ['name'], 'name'], // case
    ['identity', ['host', 'identity_file'], 'identity_file'], // prefix
    ['foo', ['bar', 'baz'], undefined],
    ['x', ['y'], 'y'], // one edit is always allowed
    ['completely', ['different'], undefined],
  ])('%s -> %s', (word, candidates, expected) => {
    expect(nearest(word, candidates)).toBe(expected);
  });

  it('editDistance counts a swap of neighbours as one edit', () => {
    expect([editDistance('ab', 'ba'), editDistance('kitten', 'sitting'), editDistance('', 'abc')]).toEqual([1, 3, 3]);
  });

  it('didYouMean phrases it', () => {
    expect(didYouMean('aptt', ['apt', 'file'])).toBe('did you mean `apt`?');
    expect(didYouMean('zzz', ['apt'])).toBeUndefined();
  });
});
