/**
 * How a plan's layout is written in one line (TP8 PP16×2 CP2 EP8 DP128): the name the planner, the twin, the
 * comparison and every report give a layout.
 * @module
 */
import type { ResolvedPlan } from '../spec/resolve.js';

/** The layout of a plan in one line: TP8 PP16×2 CP2 EP8 DP128 (CP, EP and virtual stages when used). */
export function planLayout(plan: ResolvedPlan): string {
  return [
    `TP${plan.tp}`,
    `PP${plan.pp}${plan.virtualStages > 1 ? `×${plan.virtualStages}` : ''}`,
    plan.cp > 1 ? `CP${plan.cp}` : '',
    plan.ep > 1 ? `EP${plan.ep}` : '',
    `DP${plan.dp}`,
  ]
    .filter(Boolean)
    .join(' ');
}
