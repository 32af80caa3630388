/**
 * Reads the checkpoint's compact id sets the way a test does: `["s", 0, 2]` stands for s0, s1, s2,
 * a string for itself. Written apart from machines/id-set.ts on purpose: tests must not judge the
 * checkpoint with the code that wrote it.
 */
export type CompactIds = (string | [string, number, number])[];

export function idsOf(set: unknown): string[] {
  if (!Array.isArray(set)) return [];
  return (set as CompactIds).flatMap((run) =>
    typeof run === 'string' ? [run] : Array.from({ length: run[2] - run[1] + 1 }, (_, i) => `${run[0]}${run[1] + i}`),
  );
}
