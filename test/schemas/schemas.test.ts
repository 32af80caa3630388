import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
});
