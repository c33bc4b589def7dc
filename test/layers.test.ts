/**
 * The layers of docs/overview.md, checked on the import graph of src/ (scripts/check-imports.ts): no import
 * cycle, no engine room importing report/, node/ or cli/, and commands taking values only from app/, report/,
 * node/ and cli/.
 */
import { describe, expect, it } from 'vitest';
import { commandViolations, findCycles, importGraph, layerViolations } from '../scripts/check-imports.js';

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('has no cycle', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('has no engine room importing report/, node/ or cli/', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('has commands that take values only from app/, report/, node/ and cli/', () => {
    expect(commandViolations()).toEqual([]);
  });

  it('the checks can fail: a cycle and a violation planted in a graph are found', () => {
    const planted = new Map([
      ['twin/a.ts', ['twin/b.ts', 'report/format.ts']],
      ['twin/b.ts', ['twin/a.ts']],
      ['report/format.ts', []],
    ]);
    expect(findCycles(planted)).toHaveLength(1);
    expect(layerViolations(planted)).toEqual([['twin/a.ts', 'report/format.ts']]);
  });
});
