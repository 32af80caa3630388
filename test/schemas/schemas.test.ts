import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { checkpointSchemas } from '../../src/checkpoint/schema.js';
import { reportSchemas } from '../../src/report/schema.js';
import { publishedSchemas } from '../../src/schemas.js';
import { ROOT, STAGE, checkpointOf, reportOf, runCli, tempDir } from '../support/cli.js';

describe('published JSON Schemas', () => {
  it('schemas/ holds exactly what the zod schemas generate (run `npm run schemas` after changing them)', () => {
    for (const [file, schema] of Object.entries(publishedSchemas())) {
      const published = JSON.parse(readFileSync(join(ROOT, 'schemas', file), 'utf8'));
      expect(published, file).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });

  it('a real run writes a report and a checkpoint that match their schemas field for field', async () => {
    const dir = tempDir();
    const result = await runCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'fail']);
    expect(result.exitCode).toBe(1);
    const report = z.strictObject(reportSchemas().runReportSchema.def.shape).safeParse(reportOf(dir));
    expect(report.error?.issues ?? []).toEqual([]);
    const checkpoint = z.strictObject(checkpointSchemas().checkpointV3Schema.def.shape).safeParse(checkpointOf(dir));
    expect(checkpoint.error?.issues ?? []).toEqual([]);
  });

  it('the published library exports the schemas built, ready to parse (the CLI builds them only when it reads a document)', async () => {
    const dir = tempDir();
    expect((await runCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'ok'])).exitCode).toBe(0);
    const lib = (await import(pathToFileURL(join(ROOT, 'dist/index.mjs')).href)) as Record<string, { safeParse?: (value: unknown) => { success: boolean } }>;
    const report = reportOf(dir) as { transitions: unknown[] };
    const checkpoint = checkpointOf(dir);
    expect(lib.runReportSchema?.safeParse?.(report).success).toBe(true);
    expect(lib.transitionSchema?.safeParse?.(report.transitions[0]).success).toBe(true);
    expect(lib.checkpointSchema?.safeParse?.(checkpoint).success).toBe(true);
    expect(lib.checkpointV3Schema?.safeParse?.(checkpoint).success).toBe(true);
    // They still check: a document with a field of the wrong type is refused.
    expect(lib.runReportSchema?.safeParse?.({ ...report, run_id: 7 }).success).toBe(false);
    expect(lib.checkpointSchema?.safeParse?.({ ...(checkpoint as object), run_id: 7 }).success).toBe(false);
  });
});
