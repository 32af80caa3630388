#!/usr/bin/env node
// Example AI manager for the planning stage: writes an action plan and a run report into the
// directory it is given. Real managers do the same through the same contract.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const outDir = process.argv[2] ?? './out/manager';
mkdirSync(outDir, { recursive: true });
const plan = {
  run_id: process.env.ORCHESTRATOR_RUN_ID,
  attempt: Number(process.env.ORCHESTRATOR_ATTEMPT),
  actions: [
    { id: 'inspect', description: 'Read the failing test output' },
    { id: 'fix', description: 'Change the code under test' },
    { id: 'verify', description: 'Run the tests again' },
  ],
};
writeFileSync(join(outDir, 'action_plan.json'), `${JSON.stringify(plan, null, 2)}\n`);
writeFileSync(join(outDir, 'run_report.json'), `${JSON.stringify({ status: 'planned', actions: plan.actions.length })}\n`);
console.log(`manager: planned ${plan.actions.length} actions into ${outDir}`);
