#!/usr/bin/env node
// Example executor for the execution stage: reads the manager's plan and writes what it did.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [planPath = './out/manager/action_plan.json', outDir = './out/executor'] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planPath, 'utf8'));
mkdirSync(outDir, { recursive: true });
const done = plan.actions.map((action) => ({ id: action.id, status: 'done' }));
for (const step of done) console.log(`executor: ${step.id} done`);
// In a remediation cycle (loops and gates), the reviewer's steps arrive in ORCHESTRATOR_REMEDIATION_STEPS.
const fixes = (process.env.ORCHESTRATOR_REMEDIATION_STEPS ?? '').split(' || ').filter(Boolean);
for (const fix of fixes) console.log(`executor: applying ${fix}`);
writeFileSync(join(outDir, 'result.json'), `${JSON.stringify({ key: process.env.ORCHESTRATOR_IDEMPOTENCY_KEY, done, fixes }, null, 2)}\n`);
