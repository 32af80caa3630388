/**
 * The state graph as a reader sees it: golden files in snapshots/ (reviewed like code: a change
 * to the machine shows up as a diff there), and the facts a reader of those files relies on.
 * `npm run snapshots:update` (UPDATE_SNAPSHOTS=1) rewrites the golden files instead of comparing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { machineDot, machineGraph, machineGraphJson, machineMermaid } from '../../src/graph/export.js';
import { type StageWorkInput, type StageWorkOutput, orchestrationMachine } from '../../src/index.js';
import { ROOT } from '../support/cli.js';
import { thermostatMachine } from '../../machines/thermostat.js';

const UPDATE = process.env.UPDATE_SNAPSHOTS === '1';

// Written out by hand: the expectations must not come from the code under test.
const STAGES = ['planning', 'policy_ingestion', 'execution', 'validation', 'closure'];
const TERMINALS = ['done', 'blocked', 'failed', 'timeout'];
/** Where an interrupted run (a signal, an error of its own) ends: final, but not a terminal state of the run. */
const INTERRUPTED = 'interrupted';
/**
 * Gates decide as soon as they are entered (eventless): the deny list first; after validation the
 * fail-closed gates, the review ensemble and the final decision, in V0's order, before closure; and
 * after closure the delivery's dry run and the PR risk (--auto-merge-on-eligible); and the autonomous loop's decision.
 */
const GATES = ['hard_gates', 'gates', 'review_ensemble', 'decision', 'delivery', 'pr_risk', 'autonomous_decide'];
/** Where the autonomous loop measures a run that ended short of done, and decides whether another starts. */
const AUTONOMOUS = ['autonomous_check', 'autonomous_decide'];
/** Where a run halts (reported blocked) until --resume: not final. */
const HALTED = ['awaiting_approval', 'budget_exceeded', 'roi_below_floor'];

const renderings = [
  { file: 'machine.graph.json', render: () => machineGraphJson() },
  { file: 'machine.mmd', render: () => machineMermaid() },
  { file: 'machine.dot', render: () => machineDot() },
  { file: 'thermostat.mmd', render: () => machineMermaid(thermostatMachine) },
];

describe('golden files of the state graph', () => {
  for (const { file, render } of renderings) {
    it(`snapshots/${file} matches the machine`, () => {
      const path = join(ROOT, 'snapshots', file);
      const text = render();
      expect(text.endsWith('\n')).toBe(true);
      expect(render()).toBe(text); // deterministic
      if (UPDATE) {
        writeFileSync(path, text);
        return;
      }
      expect(existsSync(path), `${path} is missing: run npm run snapshots:update and review the diff`).toBe(true);
      expect(text, `${file} differs from the machine: run npm run snapshots:update and review the diff`).toBe(
        readFileSync(path, 'utf8'),
      );
    });
  }
});

describe('the graph as JSON', () => {
  const graph = JSON.parse(machineGraphJson());
  const key = (id: string) => id.replace(/^orchestration\./, '');
  const edgesFrom = (stage: string) => graph.edges.filter((edge: any) => key(edge.source) === stage);

  it('is plain data: parsing it back gives the same object', () => {
    expect(graph).toEqual(JSON.parse(JSON.stringify(machineGraph())));
    expect(graph.machine).toBe('orchestration');
    expect(graph.initial).toBe('orchestration.hard_gates');
  });

  it('has the hard gates, every stage in order with the planning context after planning and the gates before closure, then every terminal state, as a node', () => {
    const order = ['hard_gates', 'planning', 'planning_context', 'policy_ingestion', 'execution', 'validation', 'autofix', 'gates', 'review_ensemble', 'decision', 'closure', 'delivery', 'delivery_step', 'pr_risk', ...AUTONOMOUS, ...HALTED, ...TERMINALS, INTERRUPTED];
    expect(graph.nodes.map((node: any) => node.key)).toEqual(order);
    expect(graph.nodes.map((node: any) => node.id)).toEqual(order.map((k) => `orchestration.${k}`));
    for (const node of graph.nodes) expect(node.type).toBe([...TERMINALS, INTERRUPTED].includes(node.key) ? 'final' : 'atomic');
  });

  it('names every edge by its ends, event and guard, and every end is a node (or the machine itself, for its own transitions)', () => {
    const ids = new Set(graph.nodes.map((node: any) => node.id));
    for (const edge of graph.edges) {
      expect(ids.has(edge.source) || edge.source === 'orchestration').toBe(true);
      expect(ids.has(edge.target)).toBe(true);
      expect([
        'xstate.done.actor.stageWork', 'xstate.error.actor.stageWork', 'xstate.done.actor.autofixWork', 'xstate.error.actor.autofixWork',
        'xstate.done.actor.loopRun', 'xstate.error.actor.loopRun', 'xstate.done.actor.deliveryWork', 'xstate.error.actor.deliveryWork', 'WALL_TIMEOUT', 'RESUME', 'INTERRUPT', 'REVIEWER_NEXT_STEPS', 'PLANNER_OUTPUT', 'always',
      ]).toContain(edge.event);
      expect(edge.label).toBe(edge.event.startsWith('xstate.done.') ? 'done' : edge.event.startsWith('xstate.error.') ? 'error' : edge.event);
      // Only the gates decide without an event.
      expect(edge.event === 'always').toBe(GATES.includes(key(edge.source)));
    }
  });

  it('the run\'s lifecycle: INTERRUPT, from whatever state the run stands in, is the only way into interrupted; nothing leaves it; WALL_TIMEOUT ends the run from any state', () => {
    const machineEdges = graph.edges.filter((e: any) => e.source === 'orchestration');
    expect(machineEdges.map((e: any) => [e.event, e.guard, key(e.target), e.actions])).toEqual([
      ['INTERRUPT', null, INTERRUPTED, ['recordInterrupt']],
      // Where no stage names it (halted, the autonomous loop between runs), the wall clock ends the run all the same.
      ['WALL_TIMEOUT', null, 'timeout', ['recordWallTimeoutBetweenStages']],
    ]);
    expect(graph.edges.filter((e: any) => key(e.target) === INTERRUPTED)).toHaveLength(1);
    expect(edgesFrom(INTERRUPTED)).toEqual([]);
    // The wall clock runs for the whole run: the machine itself invokes it, and every stage turns its WALL_TIMEOUT into timeout.
    expect(Object.values(orchestrationMachine.root.invoke).map((i: any) => i.src)).toEqual(['wallClock']);
    for (const stage of STAGES) expect(edgesFrom(stage).filter((e: any) => e.event === 'WALL_TIMEOUT').map((e: any) => key(e.target))).toEqual(['timeout']);
  });

  it('the planning context: entered from planning when wanted, on to policy_ingestion or failed', () => {
    const from = (stage: string) => edgesFrom(stage).filter((e: any) => e.label === 'done').map((e: any) => [e.guard, key(e.target)]);
    expect(from('planning')).toEqual(expect.arrayContaining([['stagePassedToPlanningContext', 'planning_context'], ['stagePassed', 'policy_ingestion']]));
    expect(from('planning_context')).toEqual([['stagePassed', 'policy_ingestion'], ['autonomousLoop', 'autonomous_check'], [null, 'failed']]);
  });

  it('the autonomous loop: every end short of done has a twin into autonomous_check, which starts over at the hard gates or ends as the run did', () => {
    // Each twin comes right before the edge it doubles, so that a run without the loop takes the same edges as before.
    for (const state of ['hard_gates', ...STAGES, 'planning_context', 'gates', 'pr_risk', 'delivery_step']) {
      const edges = edgesFrom(state);
      edges.forEach((edge: any, i: number) => {
        if (key(edge.target) !== 'autonomous_check') return;
        const twin = edges[i + 1];
        expect(['blocked', 'failed', 'timeout']).toContain(key(twin.target));
        expect(edge.guard).toBe(twin.guard === null ? 'autonomousLoop' : `${twin.guard}InLoop`);
      });
      expect(edges.filter((e: any) => key(e.target) === 'autonomous_check').length, state).toBe(edges.filter((e: any) => ['blocked', 'failed'].includes(key(e.target)) || (key(e.target) === 'timeout' && e.event !== 'WALL_TIMEOUT')).length);
    }
    expect(edgesFrom('autonomous_check').map((e: any) => [e.label, key(e.target)])).toEqual([['done', 'autonomous_decide'], ['error', 'failed']]);
    expect(edgesFrom('autonomous_decide').map((e: any) => [e.guard, key(e.target)])).toEqual([
      ['loopRunLeft', 'hard_gates'],
      ['loopEndedIn(blocked)', 'blocked'],
      ['loopEndedIn(timeout)', 'timeout'],
      [null, 'failed'],
    ]);
  });

  it('loops: an attempt re-enters execution, a remediation cycle goes back from validation, each guarded by its budget', () => {
    const loops = (stage: string) => edgesFrom(stage).filter((e: any) => e.label === 'done' && e.guard !== null).map((e: any) => [e.guard, key(e.target)]);
    expect(loops('execution')).toEqual(
      expect.arrayContaining([
        ['attemptLeft', 'execution'],
        ['attemptBudgetAdaptable', 'execution'],
        ['attemptsExhausted', 'failed'],
      ]),
    );
    expect(loops('validation')).toEqual(
      expect.arrayContaining([
        ['cycleLeft', 'execution'],
        ['cycleBudgetAdaptable', 'execution'],
        ['cyclesExhausted', 'failed'],
      ]),
    );
    // The loops catch a failure before the catch-all failure edges.
    for (const stage of ['execution', 'validation']) {
      const guards = edgesFrom(stage).map((e: any) => e.guard);
      expect(guards.indexOf('stageTimedOut')).toBeGreaterThan(Math.max(guards.indexOf('attemptsExhausted'), guards.indexOf('cyclesExhausted')));
    }
  });

  it('gates: the risk tier, then the hard gates lead to planning or blocked; after validation the gates, the ensemble, --simulate-blocked and the decision, in that order', () => {
    const edges = (state: string) => edgesFrom(state).map((e: any) => [e.guard, key(e.target)]);
    expect(edges('hard_gates')).toEqual([
      ['riskTierBlockedInLoop', 'autonomous_check'],
      ['riskTierBlocked', 'blocked'],
      ['hardGatesPassed', 'planning'],
      ['autonomousLoop', 'autonomous_check'],
      [null, 'blocked'],
    ]);
    expect(edges('gates')).toEqual([
      ['gatesFailedInLoop', 'autonomous_check'],
      ['gatesFailed', 'blocked'],
      ['reviewWanted', 'review_ensemble'],
      ['simulateBlockedInLoop', 'autonomous_check'],
      ['simulateBlocked', 'blocked'],
      ['decisionWanted', 'decision'],
      [null, 'closure'],
    ]);
    expect(edges('review_ensemble')).toEqual([
      ['reviewFailedInLoop', 'autonomous_check'],
      ['reviewFailed', 'blocked'],
      ['simulateBlockedInLoop', 'autonomous_check'],
      ['simulateBlocked', 'blocked'],
      [null, 'decision'],
    ]);
    expect(edges('decision')).toEqual([
      ['decisionProceeds', 'closure'],
      ['autonomousLoop', 'autonomous_check'],
      [null, 'blocked'],
    ]);
    // Validation passes straight to the first of them that is asked for.
    expect(edgesFrom('validation').filter((e: any) => e.guard?.startsWith('stagePassed')).map((e: any) => [e.guard, key(e.target)])).toEqual([
      ['stagePassedToGates', 'gates'],
      ['stagePassedToReview', 'review_ensemble'],
      ['stagePassedAndBlockedInLoop', 'autonomous_check'],
      ['stagePassedAndBlocked', 'blocked'],
      ['stagePassedToDecision', 'decision'],
      ['stagePassed', 'closure'],
    ]);
  });

  it('delivery and PR risk: closure passes to the delivery (real or dry run) or pr_risk when it is scored, which blocks above the threshold and else ends done', () => {
    const edges = (state: string) => edgesFrom(state).map((e: any) => [e.guard, key(e.target)]);
    expect(edges('closure').filter((e: any[]) => String(e[0]).startsWith('stagePassed'))).toEqual([
      ['stagePassedToDeliveryRun', 'delivery_step'],
      ['stagePassedToDelivery', 'delivery'],
      ['stagePassedToPrRisk', 'pr_risk'],
      ['stagePassed', 'done'],
    ]);
    // The delivery's dry run records its commands, then on to the PR risk or done.
    expect(edges('delivery')).toEqual([
      ['prRiskWanted', 'pr_risk'],
      [null, 'done'],
    ]);
    // A real delivery runs one command per visit: back for the next while commands are left, then on
    // to the PR risk or done; a command that times out ends the run timeout, any other failure failed.
    expect(edgesFrom('delivery_step').map((e: any) => [e.label, e.guard, key(e.target)])).toEqual([
      ['WALL_TIMEOUT', null, 'timeout'],
      ['done', 'deliveryStepLeft', 'delivery_step'],
      ['done', 'deliveryPassedToPrRisk', 'pr_risk'],
      ['done', 'deliveryPassed', 'done'],
      ['done', 'deliveryTimedOutInLoop', 'autonomous_check'],
      ['done', 'deliveryTimedOut', 'timeout'],
      ['done', 'autonomousLoop', 'autonomous_check'],
      ['done', null, 'failed'],
      ['error', 'autonomousLoop', 'autonomous_check'],
      ['error', null, 'failed'],
    ]);
    expect(edges('pr_risk')).toEqual([
      ['prRiskAboveThresholdInLoop', 'autonomous_check'],
      ['prRiskAboveThreshold', 'blocked'],
      [null, 'done'],
    ]);
  });

  it('the auto-fix loop: a failed validation goes to autofix while attempts are left (after the cycles), and autofix back to validation', ({ expect }) => {
    const edges = (state: string) => edgesFrom(state).map((e: any) => [e.label, e.guard, key(e.target)]);
    const fromValidation = edges('validation').filter((e: any[]) => e[2] === 'autofix' || String(e[1]).startsWith('autofix') || e[1] === 'cyclesExhausted');
    expect(fromValidation).toEqual([
      ['done', 'cyclesExhaustedToAutofix', 'autofix'],
      ['done', 'cyclesExhausted', 'failed'],
      ['done', 'autofixLeft', 'autofix'],
      ['done', 'autofixSpentInLoop', 'autonomous_check'],
      ['done', 'autofixSpent', 'failed'],
    ]);
    expect(edges('autofix')).toEqual([
      ['WALL_TIMEOUT', null, 'timeout'],
      ['done', 'autofixSpawnFailedInLoop', 'autonomous_check'],
      ['done', 'autofixSpawnFailed', 'failed'],
      ['done', null, 'validation'],
      ['error', 'autonomousLoop', 'autonomous_check'],
      ['error', null, 'failed'],
    ]);
  });

  it('leaves no terminal state', () => {
    for (const terminal of TERMINALS) expect(edgesFrom(terminal)).toEqual([]);
  });

  it('sends every stage to a halted state when its work halts, and each halted state back to the stage it halted in', () => {
    for (const stage of STAGES) {
      expect(edgesFrom(stage).filter((e: any) => e.guard === 'stageAwaitsApproval').map((e: any) => key(e.target))).toEqual(['awaiting_approval']);
      expect(edgesFrom(stage).filter((e: any) => e.guard === 'stageOverBudget').map((e: any) => key(e.target))).toEqual(['budget_exceeded']);
      expect(edgesFrom(stage).filter((e: any) => e.guard === 'stageRoiBelowFloor').map((e: any) => key(e.target))).toEqual(['roi_below_floor']);
      expect(edgesFrom(stage).filter((e: any) => e.event === 'WALL_TIMEOUT').map((e: any) => key(e.target))).toEqual(['timeout']);
    }
    for (const halted of HALTED) {
      expect(edgesFrom(halted).map((e: any) => [e.event, e.guard, key(e.target)])).toEqual(
        STAGES.map((stage) => ['RESUME', `haltedIn(${stage})`, stage]),
      );
    }
  });

  it('passes each stage on to the next one, and the last one to done', () => {
    const next = [...STAGES.slice(1), 'done'];
    STAGES.forEach((stage, index) => {
      const passes = edgesFrom(stage).filter((edge: any) => edge.guard === 'stagePassed');
      expect(passes.map((edge: any) => key(edge.target))).toEqual([next[index]]);
    });
  });

  it('lets every stage end the run as timeout (guarded) or failed (otherwise, or when its work crashes)', () => {
    for (const stage of STAGES) {
      const edges = edgesFrom(stage).map((edge: any) => [edge.label, edge.guard, key(edge.target)]);
      expect(edges).toContainEqual(['done', 'stageTimedOut', 'timeout']);
      expect(edges).toContainEqual(['done', null, 'failed']);
      expect(edges).toContainEqual(['error', null, 'failed']);
      // The unguarded done edge is the fallback: it must come after every guarded one.
      const dones = edgesFrom(stage).filter((edge: any) => edge.label === 'done');
      expect(dones.at(-1).guard).toBeNull();
    }
  });

  it('reaches blocked only from validation and the gates (or the autonomous loop\'s end), and checks blocked before closure there', () => {
    const intoBlocked = graph.edges.filter((edge: any) => key(edge.target) === 'blocked');
    expect(intoBlocked.map((edge: any) => [key(edge.source), edge.guard])).toEqual([
      ['hard_gates', 'riskTierBlocked'],
      ['hard_gates', null],
      ['validation', 'stagePassedAndBlocked'],
      ['gates', 'gatesFailed'],
      ['gates', 'simulateBlocked'],
      ['review_ensemble', 'reviewFailed'],
      ['review_ensemble', 'simulateBlocked'],
      ['decision', null],
      ['pr_risk', 'prRiskAboveThreshold'],
      ['autonomous_decide', 'loopEndedIn(blocked)'],
    ]);
    const targets = edgesFrom('validation').map((edge: any) => key(edge.target));
    expect(targets.indexOf('blocked')).toBeLessThan(targets.indexOf('closure'));
  });
});

/** Runs the pure machine with stage work that always ends `status`: which states it enters, which work it starts. */
async function walk(simulateBlocked: boolean, status: 'success' | 'skipped') {
  const started: string[] = [];
  const machine = orchestrationMachine.provide({
    actors: {
      runStage: fromPromise<StageWorkOutput, StageWorkInput>(async ({ input }) => {
        started.push(input.stage);
        return { stage: input.stage, status, error: null, completedSteps: [], spentCost: 0 };
      }),
    },
  });
  const entered: string[] = [];
  const actor = createActor(machine, { input: { runId: 'graph', simulateBlocked } });
  actor.subscribe((snapshot) => entered.push(String(snapshot.value)));
  const finished = new Promise<void>((resolve) => actor.subscribe({ complete: resolve }));
  actor.start();
  await finished;
  return { final: String(actor.getSnapshot().value), entered, started };
}

describe('closure when the run is blocked', () => {
  // The graph says what may happen; the machine says what does.
  for (const status of ['success', 'skipped'] as const) {
    it(`is never entered, nor its work started, when validation ends ${status}`, async () => {
      const run = await walk(true, status);
      expect(run.final).toBe('blocked');
      expect(run.entered).not.toContain('closure');
      expect(run.started).toEqual(['planning', 'policy_ingestion', 'execution', 'validation']);
    });
  }

  it('is entered when the run is not blocked', async () => {
    const run = await walk(false, 'success');
    expect(run.final).toBe('done');
    expect(run.started).toEqual(STAGES);
  });
});

describe('the Mermaid and DOT renderings', () => {
  it('Mermaid: a stateDiagram-v2 starting at the hard gates, stages in order, final states ending', () => {
    const lines = machineMermaid().trimEnd().split('\n');
    expect(lines[0]).toBe('stateDiagram-v2');
    expect(lines[1]).toBe('  [*] --> hard_gates');
    // The machine's own transition leaves "any state".
    expect(lines.slice(2, 5)).toEqual(['  state "any state" as any_state', '  any_state --> interrupted : INTERRUPT', '  any_state --> timeout : WALL_TIMEOUT']);
    // The risk tier's block comes first, then the hard gates' pass (Mermaid groups edges by target, in order).
    expect(lines.slice(5, 8)).toEqual([
      '  hard_gates --> autonomous_check : always [riskTierBlockedInLoop] | always [autonomousLoop]',
      '  hard_gates --> blocked : always [riskTierBlocked] | always',
      '  hard_gates --> planning : always [hardGatesPassed]',
    ]);
    expect(lines).toContain('  execution --> execution : done [attemptLeft] | done [attemptBudgetAdaptable]');
    expect(lines).toContain('  validation --> execution : done [cycleLeft] | done [cycleBudgetAdaptable]');
    expect(lines).toContain('  planning --> policy_ingestion : done [stagePassed]');
    expect(lines).toContain('  validation --> blocked : done [stagePassedAndBlocked]');
    expect(lines).toContain('  closure --> done : done [stagePassed]');
    // Parallel edges are one arrow with every label.
    expect(lines).toContain('  planning --> failed : done | error');
    expect(lines).toContain('  execution --> failed : done [attemptsExhausted] | done | error');
    const pairs = lines.filter((line) => line.includes(' --> ') && !line.includes('[*]')).map((line) => line.split(' : ')[0]);
    expect(new Set(pairs).size).toBe(pairs.length);
    for (const terminal of [...TERMINALS, INTERRUPTED]) expect(lines).toContain(`  ${terminal} --> [*]`);
    for (const stage of STAGES) expect(lines).not.toContain(`  ${stage} --> [*]`);
    const firstSeen = STAGES.map((stage) => lines.findIndex((line) => line.startsWith(`  ${stage} --> `)));
    expect([...firstSeen].sort((a, b) => a - b)).toEqual(firstSeen);
  });

  it('DOT: one digraph, terminal states drawn double and ranked together, one arrow per pair of states with every edge of the JSON', () => {
    const dot = machineDot();
    expect(dot.startsWith('digraph "orchestration" {\n')).toBe(true);
    expect(dot.endsWith('}\n')).toBe(true);
    expect(dot).toContain('"__initial" -> "hard_gates";');
    for (const terminal of TERMINALS) expect(dot).toContain(`"${terminal}" [shape=doublecircle];`);
    expect(dot).toContain('"validation" -> "blocked" [label="done [stagePassedAndBlocked]"];');
    expect(dot).toContain(`{ rank=same; ${[...TERMINALS, INTERRUPTED].map((t) => `"${t}";`).join(' ')} }`);
    expect(dot).toContain('"any_state" [label="any state", style="rounded,dashed"];');
    expect(dot).toContain('"any_state" -> "interrupted" [label="INTERRUPT"];');
    expect(dot).toContain('"planning" -> "failed" [label="done" + "\\n" + "error"];');
    const edgeLines = dot.split('\n').filter((line) => line.includes(' -> ') && !line.includes('__initial'));
    const edges = JSON.parse(machineGraphJson()).edges as { source: string; target: string }[];
    expect(edgeLines).toHaveLength(new Set(edges.map((e) => `${e.source}>${e.target}`)).size);
    const labelCount = edgeLines.reduce((n, line) => n + line.split('" + "\\n" + "').length, 0);
    expect(labelCount).toBe(edges.length);
  });
});

describe('the thermostat graph', () => {
  const graph = JSON.parse(machineGraphJson(thermostatMachine));
  const key = (id: string) => id.replace(/^thermostat\./, '');

  it('has the four states the README names, starting steady', () => {
    expect(graph.nodes.map((node: any) => node.key)).toEqual(['steady', 'heating', 'cooling', 'halted']);
    expect(graph.initial).toBe('thermostat.steady');
  });

  it('halts from every running state on a breached floor, and leaves halted only by RESUME', () => {
    for (const state of ['steady', 'heating', 'cooling']) {
      const edges = graph.edges.filter((e: any) => key(e.source) === state);
      expect(edges.filter((e: any) => e.guard === 'floorBreached').map((e: any) => key(e.target))).toEqual(['halted']);
      expect(edges.filter((e: any) => e.event === 'RESUME').map((e: any) => key(e.target))).toEqual([state]);
    }
    const out = graph.edges.filter((e: any) => key(e.source) === 'halted' && key(e.target) !== 'halted');
    expect(out.map((e: any) => [e.event, key(e.target)])).toEqual([['RESUME', 'steady']]);
  });
});
