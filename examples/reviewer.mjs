#!/usr/bin/env node
// Example reviewer for the validation stage: asks for one fix, then approves.
// Reads the executor's result; without the fix it writes a next_step_plan and exits 1, which
// (with --reviewer-remediation-max-cycles) sends the run back to execution with that step.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const [resultPath = './out/executor/result.json', reviewPath = './out/reviewer/review.json'] = process.argv.slice(2);
const result = JSON.parse(readFileSync(resultPath, 'utf8'));
const wanted = 'Add a test for the empty plan';
const fixed = (result.fixes ?? []).some((fix) => fix.includes(wanted));
mkdirSync(dirname(reviewPath), { recursive: true });
const review = fixed
  ? { verdict: 'approve', next_step_plan: [] }
  : { verdict: 'changes_requested', next_step_plan: [{ action: wanted, priority: 1, code: 'MISSING_TEST' }] };
writeFileSync(reviewPath, `${JSON.stringify(review, null, 2)}\n`);
console.log(`reviewer: ${review.verdict}`);
process.exit(fixed ? 0 : 1);
