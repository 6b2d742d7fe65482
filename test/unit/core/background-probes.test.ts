/**
 * Issue 15: the probe part runs in two lanes, two shells of one pipeline: the background lane writes its
 * sections into the pipe while the other shell runs the rest, then prints the pipe with its last command, `cat`
 * (lanes.ts splits the sections by their costs). Run here on this machine's /bin/sh: the same sections and exit
 * codes as in line, in any order; and (issue 7) nothing of root's output on disk at all, so no file a killed run
 * leaves behind and none a local user could plant or link.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probe, type Batcher, type Probe } from '../../../src/core/probe.js';
import { parseBatch, renderBatch } from '../../../src/core/script.js';
import { siteProbes } from '../helpers/site-probes.js';

const NONCE = '0123456789abcdef';
const text = (out: string, code: number) => `${code}:${out}`;
const PIPE = '} </dev/null 2>/dev/null | {';

/** The same script with both lanes run one after the other in the script's own shell (no pipeline). */
const serial = (script: string) => script.replace(`\n${PIPE}\n`, '\n} </dev/null 2>/dev/null; {\n').replace(/\ncat\n\}\n/, '\n}\n');

function runBatch(probes: Probe[], inLine = false) {
  const batch = { probes };
  const rendered = renderBatch(batch, NONCE);
  const script = inLine ? serial(rendered) : rendered;
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  const out = parseBatch(r.stdout, batch, NONCE);
  return { out, script, stdout: r.stdout, answers: probes.map((p) => { const s = out.probes.get(p.id); return s ? p.parse(s.stdout, s.code) : undefined; }) };
}

/**
 * Two probes that meet: each leaves its mark, then waits (at most `tries` × 50 ms) for the other's. Both see the
 * other's only when they run beside each other; one after the other, the first one waits alone. By their costs
 * the waiter runs in the foreground, the rest in the background (10 against 6 + 1 + 1).
 */
function probes(meeting: string, tries = 1): Probe[] {
  const meet = (mine: string, theirs: string, met: string) =>
    `: > ${meeting}.${mine}; i=0; while [ ! -e ${meeting}.${theirs} ] && [ $i -lt ${tries} ]; do sleep 0.05; i=$((i + 1)); done; [ -e ${meeting}.${theirs} ] && echo ${met} || echo alone`;
  return [
    probe('waiter', `${meet('fg', 'bg', 'met')}; exit 3`, text, { cost: 10 }),
    probe('inline-bg', 'printf "%s\\n" "line one" "line two"; false', text, { inline: true, cost: 6 }),
    probe('serial', 'echo in line', text, { inline: true }),
    probe('late', meet('bg', 'fg', 'made'), text, { inline: true }),
  ];
}

/** The script's text that the background lane runs (the pipeline's left side), and the rest. */
const backgroundPart = (script: string) => (script.includes(PIPE) ? script.slice(script.indexOf('__ss_t0'), script.indexOf(PIPE)) : '');
const ownPart = (script: string) => (script.includes(PIPE) ? script.slice(script.indexOf(PIPE)) : script);

const meeting = () => join(mkdtempSync(join(tmpdir(), 'ss-lanes-')), 'meeting');

describe('background probes', () => {
  it('run beside the others and give the same sections and exit codes', () => {
    const r = runBatch(probes(meeting(), 200));
    expect(r.answers).toEqual(['3:met\n', '1:line one\nline two\n', '0:in line\n', '0:made\n']);
    expect(r.out.incomplete).toBe(false);
    expect(r.out.factScript).toBeDefined();
    // the background lane is printed after the foreground's: parseBatch does not care about the order
    expect(r.stdout.indexOf(':begin:probe:1')).toBeGreaterThan(r.stdout.indexOf(':begin:probe:0'));
    // one after the other (the background lane first), the later probe waits alone: the same answers otherwise
    expect(runBatch(probes(meeting()), true).answers).toEqual(['3:met\n', '1:line one\nline two\n', '0:in line\n', '0:alone\n']);
  });

  it('write nothing on disk: the framing redirects only to /dev/null, the lanes meet in a pipe', () => {
    const script = renderBatch({ probes: [probe('a', 'echo a', text, { cost: 10 }), probe('b', 'echo b', text, { cost: 10 }), probe('c', 'echo c', text, { cost: 10 })] }, NONCE);
    expect(backgroundPart(script)).toContain(':begin:');
    const targets = [...script.matchAll(/\d?>>?\s*([^&\s;)]+)/g)].map((m) => m[1]);
    expect(new Set(targets)).toEqual(new Set(['/dev/null']));
    expect(script).not.toMatch(/\brm\b|\.probe-|exec [89]/);
  });

  it('runs a batcher in the background too, with the same answers per key', () => {
    const batcher: Batcher = {
      id: 'echo',
      script: (keys) => keys.map((k) => `echo ${k}`).join('\n'),
      split: (out, code, keys) => out.trim().split('\n').slice(0, keys.length).map((l) => ({ stdout: `${l}\n`, code })),
      cost: (keys) => 5 * keys.length,
    };
    const ps = [probe('a', 'echo a', text, { batch: { batcher, key: 'a' } }), probe('b', 'echo b', text, { batch: { batcher, key: 'b' } }), probe('c', 'echo c', text, { cost: 20 })];
    const r = runBatch(ps);
    expect(backgroundPart(r.script)).toContain(':begin:batch:0');
    expect(backgroundPart(r.script)).not.toContain(':begin:probe:2');
    expect(r.answers).toEqual(['0:a\n', '0:b\n', '0:c\n']);
  });

  it('keeps probes that run the operator\'s commands in the script\'s own shell, however costly', () => {
    const op = probe('op', 'echo x', text, { cost: 50, operatorCode: true });
    expect(renderBatch({ probes: [op] }, NONCE)).not.toContain(PIPE);
    const r = runBatch([op, probe('a', 'echo a', text, { cost: 10 }), probe('b', 'echo b', text, { cost: 10 })]);
    expect(backgroundPart(r.script)).not.toContain(':begin:probe:0');
    expect(backgroundPart(r.script)).toContain(':begin:probe:1');
    expect(r.answers).toEqual(['0:x\n', '0:a\n', '0:b\n']);
  });

  it("answers the site's probes, split between the lanes, as it answers them all in line", async () => {
    const site = await siteProbes({ sites: false });
    // read-only reads of this machine; a clock read (APT's /proc/self time) may move between two runs, so
    // only answers that two in-line runs around the split one agree on are compared
    const before = runBatch(site, true);
    const split = runBatch(site);
    const after = runBatch(site, true);
    expect(backgroundPart(split.script)).toContain(':begin:');
    expect(split.stdout).toContain(`${NONCE}:begin:stats`);
    expect(split.out.incomplete).toBe(false);
    const stable = site.flatMap((p, i) => (JSON.stringify(before.answers[i]) === JSON.stringify(after.answers[i]) ? [i] : []));
    expect(stable.length).toBeGreaterThan(site.length - 3);
    for (const i of stable) expect(split.answers[i], site[i].id).toEqual(before.answers[i]);
  });

  it('keeps each lane in the sections\' own order', () => {
    const costs = [2, 9, 4, 7, 1, 8];
    const script = renderBatch({ probes: costs.map((cost, i) => probe(`p${i}`, `echo ${i}`, text, { inline: true, cost })) }, NONCE);
    const order = (part: string) => [...part.matchAll(/:begin:probe:(\d+)'/g)].map((m) => Number(m[1]));
    // largest first to the lane with less so far, the foreground on a tie: 9 fg, 8 bg, 7 bg, 4 fg, 2 fg, 1 fg
    expect(order(backgroundPart(script))).toEqual([3, 5]);
    expect(order(ownPart(script))).toEqual([0, 1, 2, 4]);
  });
});
