/**
 * The probe part's two lanes (issue 15): two shells of one pipeline, the background lane writing its sections
 * into the pipe while the other runs the rest, then prints the pipe (script.ts). The host has
 * two cores or more, so the part takes as long as its longer lane: the sections are split by their rough
 * costs so that both lanes end about together. Which lane a section runs in changes only when its answer
 * arrives (probe.ts: `cost`), so the split is free to follow the costs alone.
 */

/** A section's cost when its probe or batcher gives none (ms): builtins and a small program or two. */
export const DEFAULT_COST = 1;

/**
 * What using the background lane costs by itself (ms, two processes): the two shells of the pipeline that runs
 * the lanes, the right one ending as the `cat` that prints the left one's sections (script.ts).
 */
export const BACKGROUND_COST = 2;

export interface LaneSection {
  /** rough ms on the host (probe.ts: `cost`) */
  cost: number;
  /** false: it stays in the script's own shell (the operator's code) */
  movable: boolean;
}

/**
 * Which sections run in the background lane. Largest first, each movable section goes to the lane that has
 * less work so far (the foreground on a tie, and it starts with the sections that cannot move); the
 * background is used only where that split beats running everything in line by more than the background's
 * own cost. The answer depends only on the costs and their order, so a script renders the same each time.
 */
export function backgroundLane(sections: LaneSection[]): boolean[] {
  const back = sections.map(() => false);
  let fg = sections.reduce((sum, s) => (s.movable ? sum : sum + s.cost), 0);
  let bg = 0;
  const order = sections.flatMap((s, i) => (s.movable ? [i] : [])).sort((a, b) => sections[b].cost - sections[a].cost || a - b);
  for (const i of order) {
    if (bg < fg) {
      back[i] = true;
      bg += sections[i].cost;
    } else fg += sections[i].cost;
  }
  const inLine = fg + bg;
  return bg > 0 && Math.max(fg, bg) + BACKGROUND_COST < inLine ? back : sections.map(() => false);
}

/** A probe's or batcher's cost as the split reads it. */
export function costOf(cost: number | undefined): number {
  return cost !== undefined && Number.isFinite(cost) && cost >= 0 ? cost : DEFAULT_COST;
}
