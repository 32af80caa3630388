import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { CORE_SCHEMA, load } from 'js-yaml';

const parseYaml = (text: string) => load(text, { schema: CORE_SCHEMA });
import { validatePlan } from '../../src/plan/load.js';
import { ROOT, runCli, tempDir } from '../support/cli.js';

const step = (id: string, extra: Record<string, unknown> = {}) => ({ id, bin: 'true', ...extra });

function firstLineOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message.split('\n')[0]!;
  }
  throw new Error('expected the parser to fail');
}

const BAD_JSON = '{"stages": {"execution": [';
const BAD_YAML = 'stages:\n  execution: [ { id: a, bin: x }\n';

interface Case {
  name: string;
  /** File content: an object is written as JSON. */
  plan: unknown;
  file?: string;
  /** What follows `plan <path>: ` on stderr. */
  message: string;
}

const CASES: Case[] = [
  {
    name: 'a negative timeoutMs',
    plan: { stages: { execution: [step('a'), step('b'), step('c', { timeoutMs: -5 })] } },
    message: 'stages.execution[2].timeoutMs: expected a positive integer',
  },
  {
    name: 'a timeoutMs given as a string',
    plan: { stages: { execution: [step('a'), step('b'), step('c', { timeoutMs: '500' })] } },
    message: 'stages.execution[2].timeoutMs: expected a positive integer',
  },
  {
    name: 'an unknown stage',
    plan: { stages: { deploy: [step('a')] } },
    message: 'stages: Unrecognized key: "deploy"',
  },
  {
    name: 'an unknown top-level key',
    plan: { stagez: {} },
    message: '(plan): Unrecognized key: "stagez"',
  },
  {
    name: 'a step without bin',
    plan: { stages: { planning: [{ id: 'a' }] } },
    message: 'stages.planning[0].bin: Invalid input: expected string, received undefined',
  },
  {
    name: 'a duplicate step id',
    plan: { stages: { execution: [step('a'), step('b'), step('a')] } },
    message: "stages.execution[2].id: 'a' is already used by stages.execution[0]",
  },
  {
    name: 'a need that names no step of the stage',
    plan: { stages: { planning: [step('p')], execution: [step('a', { needs: ['p'] })] } },
    message: "stages.execution[0].needs[0]: no step 'p' in stage execution",
  },
  {
    name: 'a cycle of needs',
    plan: { stages: { execution: [step('a', { needs: ['b'] }), step('b', { needs: ['a'] })] } },
    message: 'stages.execution: steps depend on each other in a cycle: a -> b -> a',
  },
  {
    name: 'a step id with a space',
    plan: { stages: { execution: [step('bad id')] } },
    message: 'stages.execution[0].id: expected 1-64 letters, digits, "_", "." or "-"',
  },
  {
    name: 'a negative retries.max',
    plan: { stages: { validation: [step('a', { retries: { max: -1 } })] } },
    message: 'stages.validation[0].retries.max: expected zero or more',
  },
  {
    name: 'an env name with "="',
    plan: { stages: { execution: [step('a', { env: { 'A=B': 'c' } })] } },
    message: 'stages.execution[0].env.A=B: expected a name without "="',
  },
  {
    name: 'version 2',
    plan: { version: 2 },
    message: 'version: expected 1',
  },
  {
    name: 'concurrency 0',
    plan: { concurrency: 0 },
    message: 'concurrency: expected a positive integer',
  },
  {
    name: 'invalid JSON',
    plan: BAD_JSON,
    message: `not valid JSON: ${firstLineOf(() => JSON.parse(BAD_JSON))}`,
  },
  {
    name: 'invalid YAML',
    plan: BAD_YAML,
    file: 'plan.yaml',
    message: `not valid YAML: ${firstLineOf(() => parseYaml(BAD_YAML))}`,
  },
  {
    name: 'a YAML plan with a zero timeoutMs',
    plan: 'stages:\n  execution:\n    - id: a\n      bin: "true"\n      timeoutMs: 0\n',
    file: 'plan.yml',
    message: 'stages.execution[0].timeoutMs: expected a positive integer',
  },
];

describe('an invalid plan is refused with one line naming the field, exit 2', () => {
  it.each(CASES)('$name', async ({ plan, file, message }) => {
    const dir = tempDir();
    const path = join(dir, file ?? 'plan.json');
    writeFileSync(path, typeof plan === 'string' ? plan : JSON.stringify(plan));
    const result = await runCli([join(dir, 'out'), '--plan', path]);
    expect(result.stderr).toBe(`autonomy-orchestrator: plan ${path}: ${message}\n`);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
  });

  it('a missing plan file', async () => {
    const dir = tempDir();
    const path = join(dir, 'nowhere.json');
    const result = await runCli([join(dir, 'out'), '--plan', path]);
    expect(result.stderr).toBe(`autonomy-orchestrator: plan ${path}: cannot read it (ENOENT)\n`);
    expect(result.exitCode).toBe(2);
  });

  it('--plan together with --manager-bin', async () => {
    const dir = tempDir();
    const path = join(dir, 'plan.json');
    writeFileSync(path, '{}');
    const result = await runCli([join(dir, 'out'), '--plan', path, '--manager-bin', 'true']);
    const lines = result.stderr.split('\n');
    expect(lines[0]).toBe(
      'autonomy-orchestrator: --plan cannot be combined with --manager-bin or --executor-bin: put those steps in the plan',
    );
    expect(lines[1]).toMatch(/^Usage: autonomy-orchestrator /);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.exitCode).toBe(2);
  });
});

describe('the example plans', () => {
  const dir = join(ROOT, 'examples', 'plans');
  const files = readdirSync(dir).filter((f) => /\.(json|ya?ml)$/.test(f) && !f.endsWith('.schema.json'));
  const read = (file: string): unknown => {
    const text = readFileSync(join(dir, file), 'utf8');
    return /\.ya?ml$/.test(file) ? parseYaml(text) : JSON.parse(text);
  };

  it('are there, in JSON and in YAML', () => {
    expect(files.some((f) => f.endsWith('.json'))).toBe(true);
    expect(files.some((f) => /\.ya?ml$/.test(f))).toBe(true);
  });

  it.each(files)('%s is accepted by schemas/plan.schema.json', (file) => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'plan.schema.json'), 'utf8'));
    const validate = new Ajv2020({ allErrors: true }).compile(schema);
    const valid = validate(read(file));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each(files)('%s is accepted by the loader', (file) => {
    const plan = validatePlan(read(file), file);
    expect(Object.values(plan.stages).flat().length).toBeGreaterThan(0);
  });

  it.each(files)('%s is accepted by the CLI (a run gets past loading the plan)', async (file) => {
    // A plan the CLI cannot load ends with exit 2 before anything runs; an accepted one runs
    // its steps (here: with missing programs and paths, it may fail, but not as a usage error).
    const out = tempDir();
    const result = await runCli([out, '--plan', join(dir, file), '--timeout-ms', '5000'], { cwd: tempDir() });
    expect(result.stderr).not.toMatch(/: plan /);
    expect(result.exitCode).not.toBe(2);
  });

  it('the published schema refuses what the loader refuses', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'plan.schema.json'), 'utf8'));
    const validate = new Ajv2020().compile(schema);
    for (const { plan } of CASES.slice(0, 5)) expect(validate(plan)).toBe(false);
  });
});
