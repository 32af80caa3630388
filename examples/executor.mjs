#!/usr/bin/env node
// Example executor for the execution stage: reads the manager's plan and writes what it did.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [planPath = './out/manager/action_plan.json', outDir = './out/executor'] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planPath, 'utf8'));
mkdirSync(outDir, { recursive: true });
const done = plan.actions.map((action) => ({ id: action.id, status: 'done' }));
for (const step of done) console.log(`executor: ${step.id} done`);
writeFileSync(join(outDir, 'result.json'), `${JSON.stringify({ key: process.env.ORCHESTRATOR_IDEMPOTENCY_KEY, done }, null, 2)}\n`);
