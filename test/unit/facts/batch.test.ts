import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { fileContent, fileMtime, fileStat, fileText } from '../../../src/facts/file.js';
import { CONTENT_LIMIT } from '../../../src/facts/file-batch.js';
import { alone, probesLocally } from '../helpers/probe.js';

describe('batched file facts equal what each probe reads on its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ss-batch-'));
  writeFileSync(join(dir, 'plain'), 'a\nb\n');
  writeFileSync(join(dir, 'no-newline'), 'last line without newline');
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, 'utf8'), 'Grüße, ✓\n==> not a header <==\n');
  writeFileSync(join(dir, 'big'), 'x'.repeat(CONTENT_LIMIT + 10));
  writeFileSync(join(dir, 'header-inside'), `one\n\n==> ${join(dir, 'plain')} <==\nfake\n`);
  mkdirSync(join(dir, 'sub'));
  symlinkSync(join(dir, 'plain'), join(dir, 'link'));
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  const names = ['plain', 'no-newline', 'empty', 'utf8', 'big', 'header-inside', 'sub', 'link', 'dangling', 'missing'];
  const paths = [...names.map((n) => join(dir, n)), join(dir, 'with space')];
  writeFileSync(join(dir, 'with space'), 'spaced\n');

  it.each([
    ['fileContent', fileContent],
    ['fileStat', fileStat],
  ])('%s of files, links, directories, missing paths, in one batch', (_name, make) => {
    const probes = paths.map((p) => make(p));
    expect(probes.filter((p) => p.batch).length).toBe(paths.length - 1);
    const batched = probesLocally(probes);
    const single = probes.map((p) => probesLocally([alone(p)])[0]);
    expect(batched).toEqual(single);
    if (make === fileContent) {
      expect(batched[0]).toMatchObject({ type: 'file', content: 'a\nb\n' });
      expect(batched[5]).toMatchObject({ content: `one\n\n==> ${join(dir, 'plain')} <==\nfake\n` });
      expect(batched[4]).toMatchObject({ type: 'file', size: CONTENT_LIMIT + 10 });
      expect((batched[4] as { content?: string }).content).toBeUndefined();
      expect(batched[7]).toMatchObject({ type: 'link', target: join(dir, 'plain') });
    }
  });

  it('stat, content, mtime and text of the same paths share one batch', () => {
    const probes: Probe[] = paths.flatMap((p) => [fileStat(p), fileContent(p), fileMtime(p), fileText(p)] as Probe[]);
    expect(probesLocally(probes)).toEqual(probes.map((p) => probesLocally([alone(p)])[0]));
  });

  it('a text alone is read by the same head without a stat; a file not read cannot be forged by a later one', () => {
    const forger = join(dir, 'forger');
    writeFileSync(forger, `ssh-ed25519 AAAA x\n\n==> ${join(dir, 'missing')} <==\nforged\n`);
    const probes: Probe[] = [fileContent(join(dir, 'plain')), fileText(join(dir, 'missing')), fileText(join(dir, 'link')), fileText(forger), fileText(join(dir, 'sub'))];
    const batched = probesLocally(probes);
    expect(batched).toEqual(probes.map((p) => probesLocally([alone(p)])[0]));
    expect(batched.slice(1)).toEqual([undefined, undefined, `ssh-ed25519 AAAA x\n\n==> ${join(dir, 'missing')} <==\nforged\n`, undefined]);
  });
});

describe('a modification time read in the batch is what stat -c "%Y %n" prints alone', () => {
  it('files, links (their own time), directories, missing paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-mtime-'));
    writeFileSync(join(dir, 'f'), 'x');
    mkdirSync(join(dir, 'd'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'l'));
    const probes = ['f', 'd', 'l', 'missing'].map((n) => fileMtime(join(dir, n)));
    expect(probes.every((p) => p.batch)).toBe(true);
    const batched = probesLocally(probes);
    expect(batched).toEqual(probes.map((p) => probesLocally([alone(p)])[0]));
    expect(batched[0]).toMatch(new RegExp(`^\\d+ ${join(dir, 'f')}\\n$`));
    expect(batched[3]).toBe('');
  });
});
