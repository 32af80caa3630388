import { describe, expect, it } from 'vitest';
import { prettyJsonPieces, renderElement } from '../../src/report/report-file.js';

describe('the report written in pieces', () => {
  it('is JSON.stringify(report, null, 2) byte for byte, whatever its values', () => {
    const documents: object[] = [
      {},
      { a: [] },
      { a: undefined, b: 1 },
      {
        product: 'autonomy_orchestrator_ai',
        transitions: [{ from: null, to: 'planning', at: 1 }],
        stage_executions: Array.from({ length: 50 }, (_, i) => ({
          stage: 'execution',
          args: [`--n=${i}`, 'quote " and \\ and \n newline', 'ünïcødé ✓'],
          env_keys: [],
          nested: { deep: [{ x: [1, [2, [3]]] }], empty: {} },
          error: i % 2 ? null : 'line one\nline two',
        })),
        empty: [],
        cost: { spent: 0.5, budget: null },
        notifications: [null, 1, 'x', [], {}],
        last: 'end',
      },
    ];
    for (const document of documents) {
      expect([...prettyJsonPieces(document)].join('')).toBe(`${JSON.stringify(document, null, 2)}\n`);
    }
  });

  it('writes elements rendered beforehand in place of the document\'s array, byte for byte the same', () => {
    const records = [{ a: 1, b: ['x', { c: null }] }, { a: 2, b: [] }];
    const document = { first: true, stage_executions: records, last: [] };
    const pieces = prettyJsonPieces({ ...document, stage_executions: [] }, { stage_executions: () => records.map(renderElement) });
    expect([...pieces].join('')).toBe(`${JSON.stringify(document, null, 2)}\n`);
  });
});
