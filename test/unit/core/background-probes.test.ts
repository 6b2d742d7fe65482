/**
 * Issue 15: the probe part runs in two lanes, the script's own shell and one child shell started at the top
 * of the probe part (one private file, printed at the end with one cat), split by the sections' costs
 * (lanes.ts). Run here on this
 * machine's /bin/sh with a spool directory of the test's own: the same sections and exit codes as in
 * line, in any order; nothing left behind; and (issue 7) no redirection of root's lands where a local
 * user chose: a linked, foreign or missing directory, or a planted file, makes the probe run in line.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probe, type Batcher, type Probe } from '../../../src/core/probe.js';
import { parseBatch, renderBatch } from '../../../src/core/script.js';
import { siteProbes } from '../helpers/site-probes.js';

const NONCE = '0123456789abcdef';
const text = (out: string, code: number) => `${code}:${out}`;

function runBatch(probes: Probe[], dir: string) {
  const batch = { probes };
  const script = renderBatch(batch, NONCE, dir);
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  const out = parseBatch(r.stdout, batch, NONCE);
  return { out, script, stdout: r.stdout, answers: probes.map((p) => { const s = out.probes.get(p.id); return s ? p.parse(s.stdout, s.code) : undefined; }) };
}

/**
 * A probe that waits (at most `tries` × 50 ms) for the file the later probe "late" creates: it sees it only
 * when the two run beside each other. By their costs the waiter runs in the foreground, the rest in the
 * background (10 against 6 + 1 + 1).
 */
function probes(meeting: string, tries = 1): Probe[] {
  return [
    probe('waiter', `i=0; while [ ! -e ${meeting} ] && [ $i -lt ${tries} ]; do sleep 0.05; i=$((i + 1)); done; [ -e ${meeting} ] && echo met || echo alone; exit 3`, text, { cost: 10 }),
    probe('inline-bg', 'printf "%s\\n" "line one" "line two"; false', text, { inline: true, cost: 6 }),
    probe('serial', 'echo in line', text, { inline: true }),
    probe('late', `: > ${meeting}; echo made`, text, { inline: true }),
  ];
}

/** The script's text that the background child runs. */
const backgroundPart = (script: string) => script.slice(script.indexOf('__ss_jbg=; if'), script.indexOf('__ss_jbg=$!'));

const spool = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ss-spool-'));
  return { dir, meeting: join(dir, 'meeting'), spool: join(dir, 'spool') };
};

describe('background probes', () => {
  it('run beside the others, give the same sections and exit codes, and leave nothing behind', () => {
    const t = spool();
    mkdirSync(t.spool, { mode: 0o700 });
    const r = runBatch(probes(t.meeting, 200), t.spool);
    expect(r.answers).toEqual(['3:met\n', '1:line one\nline two\n', '0:in line\n', '0:made\n']);
    expect(r.out.incomplete).toBe(false);
    expect(r.out.factScript).toBeDefined();
    // the background lane is printed after the foreground's: parseBatch does not care about the order
    expect(r.stdout.indexOf(':begin:probe:1')).toBeGreaterThan(r.stdout.indexOf(':begin:probe:0'));
    expect(readdirSync(t.spool)).toEqual([]);
  });

  it('run in line, with the same answers, where the spool directory is missing, a link, or not the user\'s', () => {
    const missing = spool();
    const r = runBatch(probes(missing.meeting), missing.spool);
    expect(r.answers).toEqual(['3:alone\n', '1:line one\nline two\n', '0:in line\n', '0:made\n']);
    expect(r.out.incomplete).toBe(false);

    // a local user's link where the directory should be: nothing is written through it
    const linked = spool();
    const theirs = join(linked.dir, 'theirs');
    mkdirSync(theirs);
    symlinkSync(theirs, linked.spool);
    expect(runBatch(probes(linked.meeting), linked.spool).answers[0]).toBe('3:alone\n');
    expect(readdirSync(theirs)).toEqual([]);

    if (process.getuid?.() === 0) {
      // root's run, a directory a local user owns
      const foreign = spool();
      mkdirSync(foreign.spool, { mode: 0o777 });
      chownSync(foreign.spool, 65534, 65534);
      expect(runBatch(probes(foreign.meeting), foreign.spool).answers[0]).toBe('3:alone\n');
      expect(readdirSync(foreign.spool)).toEqual([]);
    }
  });

  it('never writes through, truncates or removes a file or link planted under its name', () => {
    const t = spool();
    mkdirSync(t.spool, { mode: 0o700 });
    writeFileSync(join(t.spool, `.probe-${NONCE}`), 'planted\n');
    const r = runBatch(probes(t.meeting), t.spool);
    expect(r.answers).toEqual(['3:alone\n', '1:line one\nline two\n', '0:in line\n', '0:made\n']);
    expect(readFileSync(join(t.spool, `.probe-${NONCE}`), 'utf8')).toBe('planted\n');

    const linked = spool();
    mkdirSync(linked.spool, { mode: 0o700 });
    const target = join(linked.dir, 'target');
    writeFileSync(target, 'keep\n');
    symlinkSync(target, join(linked.spool, `.probe-${NONCE}`));
    expect(runBatch(probes(linked.meeting), linked.spool).answers[0]).toBe('3:alone\n');
    expect(readFileSync(target, 'utf8')).toBe('keep\n');
    expect(lstatSync(join(linked.spool, `.probe-${NONCE}`)).isSymbolicLink()).toBe(true);
  });

  it('runs a batcher in the background too, with the same answers per key', () => {
    const t = spool();
    mkdirSync(t.spool, { mode: 0o700 });
    const batcher: Batcher = {
      id: 'echo',
      script: (keys) => keys.map((k) => `echo ${k}`).join('\n'),
      split: (out, code, keys) => out.trim().split('\n').slice(0, keys.length).map((l) => ({ stdout: `${l}\n`, code })),
      cost: (keys) => 5 * keys.length,
    };
    const ps = [probe('a', 'echo a', text, { batch: { batcher, key: 'a' } }), probe('b', 'echo b', text, { batch: { batcher, key: 'b' } }), probe('c', 'echo c', text, { cost: 20 })];
    const r = runBatch(ps, t.spool);
    expect(backgroundPart(r.script)).toContain(':begin:batch:0');
    expect(backgroundPart(r.script)).not.toContain(':begin:probe:2');
    expect(r.answers).toEqual(['0:a\n', '0:b\n', '0:c\n']);
    expect(readdirSync(t.spool)).toEqual([]);
  });

  it('keeps probes that run the operator\'s commands in the script\'s own shell, however costly', () => {
    const t = spool();
    mkdirSync(t.spool, { mode: 0o700 });
    const op = probe('op', 'echo x', text, { cost: 50, operatorCode: true });
    expect(renderBatch({ probes: [op] }, NONCE, t.spool)).not.toContain('.probe-');
    const r = runBatch([op, probe('a', 'echo a', text, { cost: 10 }), probe('b', 'echo b', text, { cost: 10 })], t.spool);
    expect(backgroundPart(r.script)).not.toContain(':begin:probe:0');
    expect(backgroundPart(r.script)).toContain(':begin:probe:1');
    expect(r.answers).toEqual(['0:x\n', '0:a\n', '0:b\n']);
  });

  it("answers the site's probes, split between the lanes, as it answers them all in line", async () => {
    const t = spool();
    mkdirSync(t.spool, { mode: 0o700 });
    const site = await siteProbes({ sites: false });
    // read-only reads of this machine; a clock read (APT's /proc/self time) may move between two runs, so
    // only answers that two in-line runs around the split one agree on are compared
    const noSpool = join(t.dir, 'missing');
    const before = runBatch(site, noSpool);
    const split = runBatch(site, t.spool);
    const after = runBatch(site, noSpool);
    expect(backgroundPart(split.script)).toContain(':begin:');
    expect(split.stdout).toContain(`${NONCE}:begin:stats`);
    expect(split.out.incomplete).toBe(false);
    const stable = site.flatMap((p, i) => (JSON.stringify(before.answers[i]) === JSON.stringify(after.answers[i]) ? [i] : []));
    expect(stable.length).toBeGreaterThan(site.length - 3);
    for (const i of stable) expect(split.answers[i], site[i].id).toEqual(before.answers[i]);
    expect(readdirSync(t.spool)).toEqual([]);
  });

  it('keeps each lane in the sections\' own order, and the in-line fallback in the order of all', () => {
    const t = spool();
    mkdirSync(t.spool, { mode: 0o700 });
    const costs = [2, 9, 4, 7, 1, 8];
    const script = renderBatch({ probes: costs.map((cost, i) => probe(`p${i}`, `echo ${i}`, text, { inline: true, cost })) }, NONCE, t.spool);
    const order = (part: string) => [...part.matchAll(/:begin:probe:(\d+)'/g)].map((m) => Number(m[1]));
    // largest first to the lane with less so far, the foreground on a tie: 9 fg, 8 bg, 7 bg, 4 fg, 2 fg, 1 fg
    expect(order(backgroundPart(script))).toEqual([3, 5]);
    expect(order(script.slice(script.indexOf('__ss_jbg=$!')))).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
