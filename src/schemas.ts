/** The JSON Schemas published in schemas/, generated from the zod schemas. */
import * as z from 'zod/mini';
import { checkpointSchemas } from './checkpoint/schema.js';
import { orchestrationConfigSchema } from './config/schema.js';
import { planSchema } from './plan/schema.js';
import { runConfigFileSchema } from './config/run-config-file.js';
import { reportSchemas } from './report/schema.js';

export function publishedSchemas(): Record<string, unknown> {
  return {
    'run-report.schema.json': z.toJSONSchema(reportSchemas().runReportSchema, { target: 'draft-2020-12' }),
    'checkpoint.schema.json': z.toJSONSchema(checkpointSchemas().checkpointSchema, { target: 'draft-2020-12' }),
    'plan.schema.json': z.toJSONSchema(planSchema, { target: 'draft-2020-12', io: 'input' }),
    'config.schema.json': z.toJSONSchema(orchestrationConfigSchema, { target: 'draft-2020-12', io: 'input' }),
    'run-config.schema.json': z.toJSONSchema(runConfigFileSchema, { target: 'draft-2020-12', io: 'input' }),
  };
}
