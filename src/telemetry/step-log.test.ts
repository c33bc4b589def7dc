/**
 * The step-log parser on hand-written lines in each format of docs/research operate.md §1.5 (Megatron-LM
 * `training_log`, NeMo 2 and NeMo 1, torchtitan, plain CSV/JSON lines), malformed ones included.
 */
import { describe, expect, it } from 'vitest';
import { detectRestarts, stalls } from './megatron-ci.js';
import { createStepLogParser, parseLogNumber, parseStepLog, toStepPoints } from './step-log.js';

const megatron = (iteration: number, ms: string, loss = '2.345000E+00', stamp = '2024-09-03 15:54:54') =>
  ` [${stamp}] iteration ${String(iteration).padStart(8)}/  500000 | consumed samples:      ${iteration * 128} | ` +
  `elapsed time per iteration (ms): ${ms} | throughput per GPU (TFLOP/s/GPU): 401.2 | learning rate: 1.500000E-04 | ` +
  `global batch size:   128 | lm loss: ${loss} | loss scale: 1.0 | grad norm: 0.523 | ` +
  'number of skipped iterations:   0 | number of nan iterations:   0 |';

describe('Megatron-LM training_log lines', () => {
  it('reads every field; ms become seconds', () => {
    const log = parseStepLog(megatron(100, '1234.5'));
    expect(log.malformed).toEqual([]);
    expect(log.samples).toHaveLength(1);
    expect(log.samples[0]).toMatchObject({
      format: 'megatron',
      line: 1,
      step: 100,
      trainIterations: 500000,
      timestamp: '2024-09-03 15:54:54',
      consumedSamples: 12800,
      iterationSeconds: 1.2345,
      tflopsPerGpu: 401.2,
      learningRate: 1.5e-4,
      globalBatchSize: 128,
      loss: 2.345,
      gradNorm: 0.523,
      skippedIterations: 0,
      nanIterations: 0,
    });
    expect(log.samples[0]?.fields['loss scale']).toBe(1);
  });

  it('takes the newer microsecond time stamp, a loss under another name and a nan loss', () => {
    const line =
      ' [2026-08-22 10:00:01.123456] iteration       10/     100 | consumed samples:         1280 | ' +
      'elapsed time per iteration (ms): 900.0 | learning rate: 1.000000E-05 | global batch size:   128 | ' +
      'lm-eval loss: 3.500000E+00 | loss scale: 1.0 | number of skipped iterations:   0 | number of nan iterations:   0 |';
    const [sample] = parseStepLog(line).samples;
    expect(sample).toMatchObject({ timestamp: '2026-08-22 10:00:01.123456', iterationSeconds: 0.9, loss: 3.5 });
    expect(parseStepLog(megatron(5, '900.0', 'NAN')).samples[0]?.loss).toBeNaN();
  });

  it('counts malformed iteration lines with their numbers and never throws', () => {
    const text = [
      'INFO: building GPT model ...',
      megatron(10, '1000.0'),
      megatron(20, 'fast'), // bad number
      ' [2024-09-03 15:54:54] iteration       30/  500000 | consumed samples: 3840 |', // no elapsed time
      ' [2024-09-03 15:54:54] iteration       40/', // cut off
      megatron(50, '1000.0'),
    ].join('\n');
    const log = parseStepLog(text);
    expect(log.samples.map((sample) => [sample.line, sample.step])).toEqual([
      [2, 10],
      [6, 50],
    ]);
    expect(log.malformed.map(({ line, format, reason }) => [line, format, reason])).toEqual([
      [3, 'megatron', "bad number for 'elapsed time per iteration (ms)': 'fast'"],
      [4, 'megatron', "no 'elapsed time per iteration (ms)' field"],
      [5, 'megatron', 'iteration header without "| field: value" fields'],
    ]);
    expect(log.ignored).toBe(1);
  });

  it('feeds detectRestarts and stalls: a rewind after a resume and a slow first iteration', () => {
    // Hand computation: times 1.0, 1.0, 1.1, 9.0 (restart), 1.0 s -> median 1.0; 9.0 > 5 x 1.0, a stall.
    const text = [
      megatron(10, '1000.0'),
      megatron(20, '1000.0'),
      megatron(30, '1100.0'),
      megatron(21, '9000.0'), // resumed from the checkpoint at 20
      megatron(31, '1000.0'),
    ].join('\n');
    const points = toStepPoints(parseStepLog(text).samples);
    expect(detectRestarts(points)).toEqual([{ step: 21, index: 3, rewind: true, memoryReset: false }]);
    expect(stalls(points)).toEqual([{ step: 21, seconds: 9, ratio: 9 }]);
  });
});

describe('NeMo lines', () => {
  it('reads NeMo 2 / Megatron-Bridge progress lines, optional fields absent', () => {
    const log = parseStepLog(
      [
        'Training epoch 0, iteration 0/99 | lr: 1.5e-07 | global_batch_size: 128 | global_step: 0 | reduced_train_loss: 12.03 | train_step_timing in s: 40.12',
        'Training epoch 0, iteration 74/99 | lr: 1.124e-05 | global_batch_size: 128 | global_step: 74 | reduced_train_loss: 11.87 | train_step_timing in s: 8.768 | TFLOPS_per_GPU: 865.7 | tokens_per_sec_per_gpu: 1.073e+04 | consumed_samples: 9600',
        'Training epoch 0, iteration 75/99 | lr: 1.124e-05 | reduced_train_loss: ??',
      ].join('\n'),
    );
    expect(log.samples[0]).toMatchObject({ format: 'nemo', step: 0, iterationSeconds: 40.12, loss: 12.03 });
    expect(log.samples[0]?.consumedSamples).toBeUndefined();
    expect(log.samples[1]).toMatchObject({
      step: 74,
      trainIterations: 99,
      learningRate: 1.124e-5,
      globalBatchSize: 128,
      loss: 11.87,
      iterationSeconds: 8.768,
      tflopsPerGpu: 865.7,
      tokensPerSecondPerGpu: 10730,
      consumedSamples: 9600,
    });
    expect(log.malformed).toEqual([
      {
        line: 3,
        format: 'nemo',
        text: 'Training epoch 0, iteration 75/99 | lr: 1.124e-05 | reduced_train_loss: ??',
        reason: "bad number for 'reduced_train_loss': '??'",
      },
    ]);
  });

  it('reads the NeMo 1 tqdm bar, the last redraw on a line', () => {
    const bar = (step: number, timing: string) =>
      `Epoch 0: : ${step + 1}it [00:10, 1.62it/s, lr=1e-05, global_step=${step}.000, reduced_train_loss=10.60, train_step_timing in s=${timing}, consumed_samples=${(step + 1) * 8}.0]`;
    const log = parseStepLog(`${bar(8, '0.700')}\r${bar(9, '0.615')}\n${bar(10, 'x')}`);
    expect(log.samples).toHaveLength(1);
    expect(log.samples[0]).toMatchObject({
      format: 'nemo',
      step: 9,
      iterationSeconds: 0.615,
      loss: 10.6,
      consumedSamples: 80,
    });
    expect(log.malformed.map(({ line, reason }) => [line, reason])).toEqual([
      [2, "bad number for 'train_step_timing in s': 'x'"],
    ]);
  });
});

describe('torchtitan lines', () => {
  it('strips colour codes and reads loss, memory, tps, tflops and mfu', () => {
    const esc = String.fromCharCode(27);
    const line =
      `[rank0]:[titan] 2025-01-10 10:00:00,000 - root - INFO - ${esc}[31mstep: 20  ${esc}[32mloss: 11.83506  ` +
      `${esc}[33mgrad_norm:  9.6669  ${esc}[38;2;180;60;0mmemory: 48.87GiB(51.44%)  ${esc}[34mtps: 4,376  ` +
      `${esc}[36mtflops: 253.41  ${esc}[35mmfu: 25.62%${esc}[39m`;
    const log = parseStepLog(`${line}\nstep: 30  loss: 10.5  memory: 48.87GiB(51.44%)  tps: 4,400  mfu: N/A`);
    expect(log.malformed).toEqual([]);
    expect(log.samples[0]).toMatchObject({
      format: 'torchtitan',
      step: 20,
      loss: 11.83506,
      gradNorm: 9.6669,
      memoryGiB: 48.87,
      tokensPerSecondPerGpu: 4376,
      tflopsPerGpu: 253.41,
      mfuPercent: 25.62,
    });
    expect(log.samples[0]?.iterationSeconds).toBeUndefined();
    expect(log.samples[0]?.fields.memory_percent).toBe(51.44);
    expect(log.samples[1]).toMatchObject({ step: 30, loss: 10.5, tokensPerSecondPerGpu: 4400 });
    expect(log.samples[1]?.mfuPercent).toBeUndefined();
  });

  it('counts a torchtitan line with a bad figure', () => {
    const log = parseStepLog('step: 40  loss: 10.1  memory: lots  tps: 4,400');
    expect(log.malformed.map(({ line, format, reason }) => [line, format, reason])).toEqual([
      [1, 'torchtitan', "bad memory 'lots'"],
    ]);
  });
});

describe('plain step records', () => {
  it('reads a CSV after its header, tokens or samples, columns in any order', () => {
    const log = parseStepLog('step,time,tokens,loss\n1,1.25,4194304,10.5\n2,1.20,4194304,9.75\n');
    expect(
      log.samples.map(({ format, step, iterationSeconds, tokens, loss }) => [
        format,
        step,
        iterationSeconds,
        tokens,
        loss,
      ]),
    ).toEqual([
      ['csv', 1, 1.25, 4194304, 10.5],
      ['csv', 2, 1.2, 4194304, 9.75],
    ]);
    const bySamples = parseStepLog('step, loss, time, samples\r\n5, 2.0, 3.5, 640');
    expect(bySamples.samples[0]).toMatchObject({ step: 5, loss: 2, iterationSeconds: 3.5, consumedSamples: 640 });
  });

  it('counts bad CSV rows: before a header, wrong width, bad number, fractional step', () => {
    const log = parseStepLog(
      '1,1.0,100,2.0\nstep,time,samples,loss\n2,1.0,100\n3,abc,100,2.0\n4.5,1.0,100,2.0\n5,1.0,100,2.0',
    );
    expect(log.samples.map((sample) => sample.step)).toEqual([5]);
    expect(log.malformed.map(({ line, reason }) => [line, reason])).toEqual([
      [1, 'CSV row before a step,time,… header line'],
      [3, '3 cells, the header has 4'],
      [4, "bad number for 'time': 'abc'"],
      [5, 'step is not an integer: 4.5'],
    ]);
  });

  it('reads JSON lines and counts the bad ones', () => {
    const log = parseStepLog(
      [
        '{"step": 1, "time": 2.5, "tokens": 1048576, "loss": 11.0, "note": "ignored"}',
        '{"step": 2, "time": "2.4", "samples": 256}',
        '{"step": 3, "time": ',
        '{"time": 2.4}',
        '{"step": 4, "loss": "high"}',
      ].join('\n'),
    );
    expect(
      log.samples.map(({ step, iterationSeconds, tokens, consumedSamples, loss }) => [
        step,
        iterationSeconds,
        tokens,
        consumedSamples,
        loss,
      ]),
    ).toEqual([
      [1, 2.5, 1048576, undefined, 11],
      [2, 2.4, undefined, 256, undefined],
    ]);
    expect(log.malformed.map(({ line, format, reason }) => [line, format, reason])).toEqual([
      [3, 'jsonl', 'not a JSON object'],
      [4, 'jsonl', "no 'step'"],
      [5, 'jsonl', "bad number for 'loss': 'high'"],
    ]);
  });
});

describe('streaming', () => {
  it('gives the same samples and line numbers whatever the chunking, the last line without a newline', () => {
    const text = [megatron(10, '1000.0'), 'noise', megatron(20, 'oops'), megatron(30, '1000.0')].join('\n');
    const whole = parseStepLog(text);
    const parser = createStepLogParser();
    const pieces: number[] = [];
    for (let at = 0; at < text.length; at += 37) {
      for (const sample of parser.push(text.slice(at, at + 37))) pieces.push(sample.line);
    }
    for (const sample of parser.end()) pieces.push(sample.line);
    expect(pieces).toEqual([1, 4]);
    expect(whole.samples.map((sample) => sample.line)).toEqual([1, 4]);
    expect(parser.malformed.map((line) => line.line)).toEqual([3]);
    expect(parser.ignored).toBe(1);
    expect(parser.end()).toEqual([]);
  });

  it('parses log numbers', () => {
    expect(parseLogNumber('2.345000E+00')).toBe(2.345);
    expect(parseLogNumber(' 4,376 ')).toBe(4376);
    expect(parseLogNumber('-inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(parseLogNumber('1.2.3')).toBeUndefined();
    expect(parseLogNumber('')).toBeUndefined();
  });
});
