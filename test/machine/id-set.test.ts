import { describe, expect, it } from 'vitest';
import { idSetAdd, idSetFrom, idSetHas, idSetOf, idSetSize, idSetToArray } from '../../machines/id-set.js';

describe('the compact id set', () => {
  it('keeps ids that count up as one run, in any order of arrival', () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => `step-${i}`);
    const shuffled = [...ids].sort((a, b) => ((a.length * 7919 + a.charCodeAt(a.length - 1)) % 13) - ((b.length * 7919 + b.charCodeAt(b.length - 1)) % 13));
    expect(idSetFrom(ids)).toEqual([['step-', 0, 999]]);
    const set = idSetFrom(shuffled);
    expect(idSetSize(set)).toBe(1_000);
    expect(idSetToArray(set).sort()).toEqual([...ids].sort());
    expect(set.length).toBeLessThan(40);
  });

  it('keeps any other id as it is, and tells members from others exactly', () => {
    const set = idSetFrom(['build', 'test', 's1', 's2', 's007', 'v2.0', '10']);
    for (const id of ['build', 'test', 's1', 's2', 's007', 'v2.0', '10']) expect(idSetHas(set, id), id).toBe(true);
    for (const id of ['s0', 's3', 's7', 's07', 'v2.1', '1', '100', 'buil', '']) expect(idSetHas(set, id), id).toBe(false);
    expect(idSetToArray(set).sort()).toEqual(['10', 'build', 's007', 's1', 's2', 'test', 'v2.0'].sort());
  });

  it('joins two runs the new id bridges, and adds nothing twice', () => {
    let set = idSetFrom(['s1', 's2', 's4', 's5']);
    expect(set).toEqual([
      ['s', 1, 2],
      ['s', 4, 5],
    ]);
    set = idSetAdd(set, 's3');
    expect(set).toEqual([['s', 1, 5]]);
    expect(idSetAdd(set, 's4')).toBe(set);
  });

  it('reads an older checkpoint list of plain ids, and drops entries that are not ids or runs', () => {
    const read = idSetOf(['a', ['s', 0, 3], ['s', 5, 2], ['x', -1, 2], 7, null, ['y', 1]]);
    expect(read).toEqual(['a', ['s', 0, 3]]);
    expect(idSetOf({ a: 1 })).toEqual([]);
    expect(idSetHas(idSetAdd(['s1'], 's2'), 's2')).toBe(true);
    expect(idSetAdd(['s1'], 's2')).toEqual([['s', 1, 2]]);
  });
});
