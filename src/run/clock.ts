/**
 * Milliseconds on a clock that never goes back, for durations: what `performance.now()` gives,
 * without loading `perf_hooks`, which Node does at the first use of `performance` (most of a
 * millisecond of every CLI start).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
