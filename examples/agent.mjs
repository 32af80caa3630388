#!/usr/bin/env node
// Example agent step for the ROI thermostat (examples/plans/roi-thermostat.json): it "works" on
// task N for a moment, then reports what it cost and what it brought back. Each task costs 10; the
// payoff falls as the tasks go on (the easy wins come first): 43, 38, 33, … then nothing.
import { writeFileSync } from 'node:fs';
import { setTimeout } from 'node:timers/promises';

const task = Number(process.argv[2] ?? 1);
await setTimeout(Number(process.env.EXAMPLE_AGENT_MS ?? 300));
const spend = { cost: 10, value: Math.max(0, 48 - 5 * task) };
console.log(`agent: task ${task} cost ${spend.cost}, value ${spend.value}`);
writeFileSync(process.env.ORCHESTRATOR_COST_FILE, JSON.stringify(spend));
