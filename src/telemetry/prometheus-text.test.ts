/**
 * The exposition parser on hand-written lines and on every real scrape the team keeps
 * (../shared/data/telemetry/: DataDog's dcgm-exporter fixtures, BSD-3-Clause; nvidia_gpu_exporter's golden
 * output, MIT; not part of Tokenworks): all of them parse with no malformed line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText, parsePromLine, parsePromValue } from './prometheus-text.js';

const TELEMETRY = fileURLToPath(new URL('../../../shared/data/telemetry/', import.meta.url));
const readShared = (path: string) => readFileSync(`${TELEMETRY}${path}`, 'utf8');

describe('parsePromLine', () => {
  it('reads samples with labels, escapes, timestamps and special values', () => {
    expect(parsePromLine('up 1', 1)).toEqual({ kind: 'sample', sample: { name: 'up', labels: {}, value: 1, line: 1 } });
    expect(parsePromLine('x{a="1",b="q\\"uo\\\\te\\nnl",} 8.969000 1700000000000', 7)).toEqual({
      kind: 'sample',
      sample: { name: 'x', labels: { a: '1', b: 'q"uo\\te\nnl' }, value: 8.969, timestamp: 1700000000000, line: 7 },
    });
    expect(parsePromLine('x{le="+Inf"} +Inf', 1)).toMatchObject({ sample: { value: Number.POSITIVE_INFINITY } });
    expect(parsePromLine('x -Inf', 1)).toMatchObject({ sample: { value: Number.NEGATIVE_INFINITY } });
    expect(parsePromLine('x NaN', 1)).toMatchObject({ sample: { value: Number.NaN } });
    expect(parsePromLine('x 1.98e+09\r', 1)).toMatchObject({ sample: { value: 1.98e9 } });
    expect(parsePromLine('x{a="b"} 1 # {trace_id="abc"} 0.5 12', 1)).toMatchObject({ sample: { value: 1 } });
    expect(parsePromLine('x{} 2', 1)).toMatchObject({ sample: { labels: {}, value: 2 } });
  });

  it('reads HELP (empty too), TYPE, UNIT, comments, EOF and blank lines', () => {
    expect(parsePromLine('# HELP a_b Power draw (in W).', 1)).toEqual({
      kind: 'help',
      name: 'a_b',
      help: 'Power draw (in W).',
    });
    expect(parsePromLine('# HELP DCGM_FI_DEV_PSTATE', 1)).toEqual({
      kind: 'help',
      name: 'DCGM_FI_DEV_PSTATE',
      help: '',
    });
    expect(parsePromLine('# HELP a line\\none \\\\', 1)).toEqual({ kind: 'help', name: 'a', help: 'line\none \\' });
    expect(parsePromLine('# TYPE a counter', 1)).toEqual({ kind: 'type', name: 'a', type: 'counter' });
    expect(parsePromLine('# UNIT a seconds', 1)).toEqual({ kind: 'unit', name: 'a', unit: 'seconds' });
    expect(parsePromLine('# NOTE copied from FB_TOTAL', 1)).toEqual({ kind: 'comment' });
    expect(parsePromLine('# EOF', 1)).toEqual({ kind: 'eof' });
    expect(parsePromLine('   ', 1)).toEqual({ kind: 'blank' });
  });

  it('says why a line is malformed', () => {
    const reason = (line: string) => {
      const parsed = parsePromLine(line, 1);
      return parsed.kind === 'malformed' ? parsed.reason : parsed.kind;
    };
    expect(reason('# TYPE a counters')).toBe("unknown metric type 'counters'");
    expect(reason('# TYPE')).toBe('TYPE without a metric name');
    expect(reason('x')).toBe('no value');
    expect(reason('x abc')).toBe("bad value 'abc'");
    expect(reason('x 1 2 3')).toBe('text after the timestamp');
    expect(reason('x 1 soon')).toBe("bad timestamp 'soon'");
    expect(reason('x{a="1" 1')).toBe("expected ',' or '}' after label a");
    expect(reason('x{a=1} 1')).toBe(`expected '"' to open the value of label a`);
    expect(reason('x{a="1} 1')).toBe('unterminated value of label a');
    expect(reason('x{a="\\t"} 1')).toBe("bad escape '\\t' in label a");
    expect(reason('x{1a="b"} 1')).toBe('bad label name at column 3');
    expect(reason('x-y 1')).toBe('bad character in metric name');
    expect(reason('{a="b"} 1')).toBe('does not start with a metric name');
  });

  it('parses values', () => {
    expect(parsePromValue('40.979000')).toBe(40.979);
    expect(parsePromValue('.5')).toBe(0.5);
    expect(parsePromValue('1e3')).toBe(1000);
    expect(parsePromValue('')).toBeUndefined();
    expect(parsePromValue('0x10')).toBeUndefined();
  });
});

describe('parsePrometheusText', () => {
  it('collects families, counts malformed lines with their numbers, accepts a missing final newline', () => {
    const body = [
      '# HELP a Help of a.',
      '# TYPE a gauge',
      'a{gpu="0"} 1',
      'garbage here',
      '# TYPE a counter',
      '',
      '# comment',
      'a{gpu="1"} 2',
    ].join('\n');
    const parsed = parsePrometheusText(body);
    expect(parsed.samples.map((sample) => [sample.line, sample.value])).toEqual([
      [3, 1],
      [8, 2],
    ]);
    expect([...parsed.families.values()]).toEqual([{ name: 'a', help: 'Help of a.', type: 'gauge' }]);
    expect(parsed.malformed.map(({ line, reason }) => [line, reason])).toEqual([
      [4, "bad value 'here'"],
      [5, 'second TYPE for a'],
    ]);
    expect(parsed.comments).toBe(1);
    expect(parsed.openMetrics).toBe(false);
    expect(parsePrometheusText(`${body}\n`).samples).toHaveLength(2);
    expect(parsePrometheusText('').samples).toEqual([]);
  });

  it('reads OpenMetrics text up to # EOF; anything after it is malformed', () => {
    const parsed = parsePrometheusText(
      '# TYPE t_seconds counter\n# UNIT t_seconds seconds\nt_seconds_total 3 1.5\n# EOF\nx 1',
    );
    expect(parsed.openMetrics).toBe(true);
    expect(parsed.samples).toEqual([{ name: 't_seconds_total', labels: {}, value: 3, timestamp: 1.5, line: 3 }]);
    expect(parsed.families.get('t_seconds')).toEqual({ name: 't_seconds', type: 'counter', unit: 'seconds' });
    expect(parsed.malformed).toEqual([{ line: 5, text: 'x 1', reason: 'after # EOF on line 4' }]);
  });
});

describe('the shared scrapes', () => {
  it('DataDog metrics.txt: 116 lines, 38 samples, 2 # NOTE comments, none malformed', () => {
    const text = readShared('dcgm/datadog/metrics.txt');
    expect(text.endsWith('\n')).toBe(false);
    const parsed = parsePrometheusText(text);
    expect(parsed.malformed).toEqual([]);
    expect(parsed.samples).toHaveLength(38);
    expect(parsed.comments).toBe(2);
    expect(parsed.samples.at(-1)?.line).toBe(116);
    // Read by hand from line 12: the first T4's power draw, printed with six decimals.
    const power = parsed.samples.find((sample) => sample.name === 'DCGM_FI_DEV_POWER_USAGE');
    expect(power).toMatchObject({ line: 12, value: 8.969, labels: { Hostname: '424773df46e0', gpu: '0' } });
    expect(parsed.families.get('DCGM_FI_DEV_COUNT')?.type).toBe('counter');
    expect(parsed.families.get('DCGM_FI_DEV_PSTATE')?.help).toBe('');
  });

  it('DataDog label_remap.txt and serve-metrics: none malformed', () => {
    const remap = parsePrometheusText(readShared('dcgm/datadog/label_remap.txt'));
    expect(remap.malformed).toEqual([]);
    expect(remap.samples).toHaveLength(1);
    expect(remap.samples[0]?.labels).toMatchObject({ namespace: 'foo', pod: 'bar', container: 'baz' });
    const serve = readShared('dcgm/datadog/serve-metrics');
    const served = parsePrometheusText(serve);
    expect(served.malformed).toEqual([]);
    // The first 8,871 chars of metrics.txt: the 16 + 7 T4 series.
    expect(served.samples).toHaveLength(23);
    expect(readShared('dcgm/datadog/metrics.txt').startsWith(serve)).toBe(true);
  });

  const testdata = readdirSync(`${TELEMETRY}nvidia-smi/testdata`).filter((file) => file.endsWith('.metrics'));
  it('finds the eight nvidia_gpu_exporter golden files', () => {
    expect(testdata).toHaveLength(8);
  });
  for (const file of testdata) {
    it(`nvidia-smi/testdata/${file}: none malformed, every sample typed`, () => {
      const parsed = parsePrometheusText(readShared(`nvidia-smi/testdata/${file}`));
      expect(parsed.malformed).toEqual([]);
      expect(parsed.samples.length).toBeGreaterThan(100);
      for (const sample of parsed.samples) expect(parsed.families.get(sample.name)?.type).toBeDefined();
    });
  }

  it('H100 under load: power 631.95 W and SM clock 1.98 GHz, as the README reads them', () => {
    const parsed = parsePrometheusText(
      readShared('nvidia-smi/testdata/linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.metrics'),
    );
    const value = (name: string) => parsed.samples.find((sample) => sample.name === name)?.value;
    expect(value('nvidia_smi_clocks_current_sm_clock_hz')).toBe(1.98e9);
    expect(value('nvidia_smi_power_draw_watts')).toBe(631.95);
  });
});
