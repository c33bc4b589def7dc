import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatFlops, formatInteger } from './format.js';
import { renderTable } from './table.js';

describe('formatting', () => {
  it('uses the units people quote', () => {
    expect(formatCount(70.554e9)).toBe('70.6 B');
    expect(formatCount(16_777_216)).toBe('16.8 M');
    expect(formatBytes(141.1e9)).toBe('141 GB');
    expect(formatFlops(2.6254e12)).toBe('2.63 TFLOP');
    expect(formatFlops(8.105e18, true)).toBe('8.11 EFLOP/s');
    expect(formatDuration(58.5 * 86400)).toBe('58.5 days');
    expect(formatDuration(90)).toBe('90.0 s');
    expect(formatInteger(16384)).toBe('16,384');
  });

  it('aligns tables, numbers to the right', () => {
    const text = renderTable(
      [{ header: 'id' }, { header: 'TF', align: 'right' }],
      [
        ['a100', '312'],
        ['h100', '989.4'],
      ],
    );
    expect(text.split('\n')).toEqual(['id       TF', '----  -----', 'a100    312', 'h100  989.4']);
  });
});
