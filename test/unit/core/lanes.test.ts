/**
 * Issue 15: the probe part's sections split between the script's own shell and the one background child by
 * their rough costs, so that both lanes end about together; the background only where it pays for its own
 * two processes; the operator's code never moves. (background-probes.test.ts runs such scripts.)
 */
import { describe, expect, it } from 'vitest';
import { backgroundLane, costOf, DEFAULT_COST, type LaneSection } from '../../../src/core/lanes.js';

const movable = (...costs: number[]): LaneSection[] => costs.map((cost) => ({ cost, movable: true }));
const loads = (sections: LaneSection[], back: boolean[]) =>
  sections.reduce((l, s, i) => (back[i] ? { ...l, bg: l.bg + s.cost } : { ...l, fg: l.fg + s.cost }), { fg: 0, bg: 0 });

describe('the two lanes of the probe part', () => {
  it("splits the profile's no-op sections evenly (within the smallest one) where today's flag put 52 ms against 27", () => {
    // Debian 13, session 7's profile: systemctl, Caddy's certificate, docker, sshd, Caddy's unit, sudo, apt-config,
    // the file batch, dpkg, Caddy's DNS, users, ip6tables, iptables, the dump, then the small ones
    const sections = movable(14.2, 11.4, 10.1, 9.2, 7.5, 5.3, 5.1, 3.9, 3.4, 3.4, 3.2, 2.7, 2.5, 2.2, 1.6, 1.4, 1.3, 1.2);
    const back = backgroundLane(sections);
    const { fg, bg } = loads(sections, back);
    expect(Math.abs(fg - bg)).toBeLessThanOrEqual(1.2);
    // the two largest apart
    expect(back[0]).not.toBe(back[1]);
  });

  it('moves nothing where the background would not pay for itself', () => {
    expect(backgroundLane([])).toEqual([]);
    expect(backgroundLane(movable(9))).toEqual([false]);
    // 2 + 2 against 4 in line
    expect(backgroundLane(movable(2, 2))).toEqual([false, false]);
    // 4 + 2 against 8 in line
    expect(backgroundLane(movable(4, 4))).toEqual([false, true]);
    // sections without any cost never start a child
    expect(backgroundLane(movable(0, 0, 0))).toEqual([false, false, false]);
  });

  it("counts the sections that cannot move in the foreground, and never moves them", () => {
    const sections: LaneSection[] = [{ cost: 50, movable: false }, ...movable(10, 10, 30)];
    expect(backgroundLane(sections)).toEqual([false, true, true, true]);
    // the operator's code alone: nothing to move
    expect(backgroundLane([{ cost: 50, movable: false }, { cost: 1, movable: false }])).toEqual([false, false]);
  });

  it('answers the same for the same costs: ties go by order, the foreground first', () => {
    expect(backgroundLane(movable(5, 5, 5, 5))).toEqual([false, true, false, true]);
    expect(backgroundLane(movable(5, 5, 5, 5))).toEqual(backgroundLane(movable(5, 5, 5, 5)));
  });

  it('reads a missing or nonsensical cost as the default', () => {
    expect(costOf(undefined)).toBe(DEFAULT_COST);
    expect(costOf(Number.NaN)).toBe(DEFAULT_COST);
    expect(costOf(-3)).toBe(DEFAULT_COST);
    expect(costOf(Infinity)).toBe(DEFAULT_COST);
    expect(costOf(0)).toBe(0);
    expect(costOf(7.5)).toBe(7.5);
  });
});
