/** Runs the built CLI the way a user does, and reads what it leaves on disk. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');
export const STAGE = join(ROOT, 'test', 'fixtures', 'stage.sh');

export interface CliOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function tempDir(prefix = 'ao-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts the CLI; the returned child can be signalled, `done` resolves with its outcome. */
export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** another copy of the bin than dist/cli.js */
  cli?: string;
}

export function startCli(args: string[], options: CliOptions = {}) {
  const child = spawn(process.execPath, [options.cli ?? CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<CliOutcome>((resolveDone) => {
    child.on('close', (exitCode, signal) => resolveDone({ exitCode, signal, stdout, stderr }));
  });
  return { child, done };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliOutcome> {
  return startCli(args, options).done;
}

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function reportOf(outputDir: string) {
  return readJson(join(outputDir, 'orchestrator_run_report.json'));
}

export function checkpointOf(outputDir: string) {
  return readJson(join(outputDir, 'orchestrator_checkpoint.json'));
}

/** Lines "<stage> <attempt>" written by fixtures/stage.sh, one per program run. */
export function sideEffects(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export async function waitFor(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True while a process with this pid is running (zombies count as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
