/**
 * A set of step ids, kept compact as plain JSON: ids that differ only in a decimal suffix and
 * follow one another (`s0`, `s1`, … `s9999`) are one entry, `["s", 0, 9999]`; any other id is an
 * entry of its own. A plan's steps mostly finish in order, so the set of finished steps stays a
 * handful of entries however long the plan: the checkpoint written at every step does not grow
 * with the run. An array of plain ids is a valid set too (checkpoints before schema 3 hold those).
 * Pure and immutable: every change returns a new array.
 */
export type IdRun = string | [prefix: string, from: number, to: number];
export type IdSet = IdRun[];

const NUMBERED = /^(.*?)(0|[1-9]\d{0,14})$/;

/** `s12` → `['s', 12]`; an id without a canonical decimal suffix → null. */
function split(id: string): [string, number] | null {
  const match = NUMBERED.exec(id);
  return match ? [match[1]!, Number(match[2])] : null;
}

export function idSetHas(set: IdSet, id: string): boolean {
  const parts = split(id);
  for (const run of set) {
    if (typeof run === 'string') {
      if (run === id) return true;
    } else if (parts && run[0] === parts[0] && parts[1] >= run[1] && parts[1] <= run[2]) return true;
  }
  return false;
}

export function idSetAdd(set: IdSet, id: string): IdSet {
  if (idSetHas(set, id)) return set;
  const parts = split(id);
  if (!parts) return [...set, id];
  const [prefix, n] = parts;
  const next = set.slice();
  // Extend a run that ends just before `n` or starts just after it; join two runs `n` bridges.
  const below = next.findIndex((run) => typeof run !== 'string' && run[0] === prefix && run[2] === n - 1);
  const above = next.findIndex((run) => typeof run !== 'string' && run[0] === prefix && run[1] === n + 1);
  const lone = (m: number) => next.findIndex((run) => run === `${prefix}${m}`);
  if (below >= 0 && above >= 0) {
    const low = next[below] as [string, number, number];
    const high = next[above] as [string, number, number];
    next[below] = [prefix, low[1], high[2]];
    next.splice(above, 1);
    return next;
  }
  if (below >= 0) {
    const low = next[below] as [string, number, number];
    next[below] = [prefix, low[1], n];
    return next;
  }
  if (above >= 0) {
    const high = next[above] as [string, number, number];
    next[above] = [prefix, n, high[2]];
    return next;
  }
  // Ids kept one by one (an older checkpoint's) join a run once a neighbour arrives.
  const previous = n > 0 ? lone(n - 1) : -1;
  if (previous >= 0) {
    next[previous] = [prefix, n - 1, n];
    return next;
  }
  next.push([prefix, n, n]);
  return next;
}

export function idSetFrom(ids: Iterable<string>): IdSet {
  let set: IdSet = [];
  for (const id of ids) set = idSetAdd(set, id);
  return set;
}

export function idSetSize(set: IdSet): number {
  let size = 0;
  for (const run of set) size += typeof run === 'string' ? 1 : run[2] - run[1] + 1;
  return size;
}

export function idSetToArray(set: IdSet): string[] {
  const ids: string[] = [];
  for (const run of set) {
    if (typeof run === 'string') ids.push(run);
    else for (let n = run[1]; n <= run[2]; n++) ids.push(`${run[0]}${n}`);
  }
  return ids;
}

/** A set as read from a checkpoint: entries that are neither an id nor a well-formed run are dropped. */
export function idSetOf(value: unknown): IdSet {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (run): run is IdRun =>
      typeof run === 'string' ||
      (Array.isArray(run) &&
        run.length === 3 &&
        typeof run[0] === 'string' &&
        Number.isSafeInteger(run[1]) &&
        Number.isSafeInteger(run[2]) &&
        run[1] >= 0 &&
        run[1] <= run[2]),
  );
}
