/**
 * Small statistics for the bench: medians, quartiles, and the spread of a figure across blocks.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export interface Summary {
  median: number;
  p25: number;
  p75: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    median: median(values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/** A figure computed once over all samples, and once per block to show how much it moves. */
export interface Figure {
  value: number;
  blockMin: number;
  blockMax: number;
  blocks: number[];
}

export function figure(value: number, blocks: number[]): Figure {
  return { value, blockMin: Math.min(...blocks), blockMax: Math.max(...blocks), blocks };
}

/** Splits round-indexed samples into `count` contiguous blocks. */
export function blocksOf<T>(values: readonly T[], count: number): T[][] {
  const size = Math.ceil(values.length / count);
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/** Fisher-Yates, so that no variant always runs first in a round. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export const fmtMs = (ms: number, digits = 2): string => `${ms.toFixed(digits)} ms`;
