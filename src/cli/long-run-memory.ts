/**
 * A long run's memory. Left to its defaults, V8 sizes the heap for speed: it lets the old generation
 * grow to several times what is live before collecting it, and doubles the young generation up to two
 * 16 MiB semi-spaces (64 MiB on Node 24) while a process allocates steadily. A 10,000-step run then
 * peaked past 115 MiB RSS here, although it keeps a few MiB: a step's spawn and records die young.
 *
 * `--optimize-for-size` (collect sooner, grow less) and a young generation that does not grow fix
 * that, but any V8 flag on the command line makes Node refuse the code cache of its own built-in
 * modules (that cache is tied to V8's flags), which costs every run about 15 ms at start. V8 reads
 * both flags as it goes, so the CLI sets them with Node's `v8.setFlagsFromString` once a run is known
 * to be long, and short runs start as fast as before. (`bench/scale.ts` measures the effect.)
 */
import { setFlagsFromString } from 'node:v8';

/** From this many steps in a plan on, a run trades a little speed for memory. */
export const LONG_RUN_STEPS = 50;

let set = false;

export function keepMemorySmall(): void {
  if (set) return;
  set = true;
  setFlagsFromString('--optimize-for-size');
  // Read each time V8 would grow the young generation: 1 keeps it at its starting size.
  setFlagsFromString('--semi-space-growth-factor=1');
}

export function isLongRun(plan: { stages?: Record<string, readonly unknown[] | undefined> }): boolean {
  let steps = 0;
  for (const stage of Object.values(plan.stages ?? {})) steps += stage?.length ?? 0;
  return steps >= LONG_RUN_STEPS;
}
