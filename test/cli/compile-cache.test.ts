/**
 * The bin loads the CLI's bundle through a V8 code cache (src/cli/bin.cts). What a user would
 * notice if it went wrong: a run that fails or behaves differently with a cache, a broken cache
 * that breaks the tool, a cache that is never used or rewritten at every run. Each test works on
 * its own copy of dist/, so the suite's shared cache is not touched.
 */
import { cpSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePlan } from '../plans/plan-runs.js';
import { ROOT, STAGE, reportOf, runCli, tempDir } from '../support/cli.js';

/** A copy of the built package's dist/, without any cache. */
function freshDist(): string {
  const dist = join(tempDir('ao-dist-'), 'dist');
  for (const name of ['cli.js', 'cli-main.cjs', 'package.json', 'viewer.js']) cpSync(join(ROOT, 'dist', name), join(dist, name));
  return dist;
}

/** A V0 run of the bin in `dist`, with NODE_DEBUG=compile_cache; returns the outcome and what the bin said of its cache. */
async function runFrom(dist: string, env: Record<string, string> = {}) {
  const out = tempDir();
  const outcome = await runCli([out, '--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'ok'], {
    env: { NODE_DEBUG: 'compile_cache', ...env },
    cli: join(dist, 'cli.js'),
  });
  const said = outcome.stderr.split('\n').filter((line) => line.startsWith('compile cache: '));
  return { outcome, out, said };
}

const cacheFiles = (dist: string) => (existsSync(join(dist, '.cache')) ? readdirSync(join(dist, '.cache')) : []);

describe('the bin’s compile cache', () => {
  it('is written by the first run, used by the next, and changes nothing a run does', async () => {
    const dist = freshDist();
    const first = await runFrom(dist);
    expect(first.outcome.exitCode).toBe(0);
    expect(first.said[0]).toMatch(/^compile cache: none cli-[0-9a-f]{16}-v\d+\.\d+\.\d+-\w+-[0-9a-f]{12}\.v8$/);
    expect(first.said[1]).toMatch(/^compile cache: wrote .*\.cache[/\\]cli-.*\.v8$/);
    const files = cacheFiles(dist);
    expect(files).toHaveLength(1);
    expect(files[0]).toContain(process.version);
    const cache = join(dist, '.cache', files[0]!);
    const written = statSync(cache);
    expect(written.size).toBeGreaterThan(100_000);

    const second = await runFrom(dist);
    expect(second.outcome.exitCode).toBe(0);
    expect(second.said).toEqual([`compile cache: used ${files[0]}`]);
    // Used, not rewritten.
    expect(statSync(cache).mtimeMs).toBe(written.mtimeMs);
    expect(statSync(cache).ino).toBe(written.ino);

    // The same run with and without the cache: the same stdout, states and executions.
    const uncached = await runFrom(dist, { NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(uncached.said).toEqual(['compile cache: off']);
    expect(cacheFiles(dist)).toEqual(files);
    expect(second.outcome.stdout.replace(second.out, 'OUT')).toBe(uncached.outcome.stdout.replace(uncached.out, 'OUT'));
    const view = (out: string) => {
      const report = reportOf(out);
      return { terminal: report.terminal_state, transitions: report.transitions.map((t: { to_stage: string }) => t.to_stage), runs: report.stage_executions.map((e: { stage: string; status: string }) => `${e.stage}:${e.status}`) };
    };
    expect(view(second.out)).toEqual(view(uncached.out));
    expect(view(second.out).terminal).toBe('done');
  });

  it('survives a broken cache: the run compiles from source, succeeds and writes a good cache', async () => {
    const dist = freshDist();
    await runFrom(dist);
    const [name] = cacheFiles(dist);
    const cache = join(dist, '.cache', name!);
    const garbage = Buffer.alloc(statSync(cache).size, 0x5a);
    writeFileSync(cache, garbage);

    const broken = await runFrom(dist);
    expect(broken.outcome.exitCode).toBe(0);
    expect(broken.outcome.stderr).not.toMatch(/internal error|at .*\.cjs:\d+/);
    expect(broken.said[0]).toBe(`compile cache: refused ${name}`);
    expect(readFileSync(cache).equals(garbage)).toBe(false);

    const after = await runFrom(dist);
    expect(after.said).toEqual([`compile cache: used ${name}`]);
    expect(reportOf(after.out).terminal_state).toBe('done');
  });

  it('is not written by a long run, whose V8 flags change as it runs, but by the next short one', async () => {
    const dist = freshDist();
    const dir = tempDir();
    // 50 steps: the README's "runs of 50 steps or more" set V8 flags as they start.
    const plan = writePlan(dir, { stages: { execution: Array.from({ length: 50 }, (_, i) => ({ id: `s${i}`, bin: '/bin/true' })) } });
    const long = await runCli([join(dir, 'out'), '--plan', plan], { env: { NODE_DEBUG: 'compile_cache' }, cli: join(dist, 'cli.js') });
    expect(long.exitCode).toBe(0);
    expect(long.stderr).toMatch(/^compile cache: none /m);
    expect(long.stderr).not.toContain('compile cache: wrote');
    expect(cacheFiles(dist)).toEqual([]);
    // Had it written one, V8 would refuse it here (its flags differ from the command line's).
    const short = await runFrom(dist);
    expect(short.said[0]).toMatch(/^compile cache: none /);
    expect(short.said[1]).toMatch(/^compile cache: wrote /);
    expect((await runFrom(dist)).said[0]).toMatch(/^compile cache: used /);
  });

  it('goes to a directory of the user’s own under the temp dir where the package is not writable', async () => {
    const dist = freshDist();
    // A file where the cache directory would be: nothing can be written beside the bundle.
    writeFileSync(join(dist, '.cache'), 'not a directory');
    const tmp = tempDir('ao-tmpdir-');
    const first = await runFrom(dist, { TMPDIR: tmp });
    expect(first.outcome.exitCode).toBe(0);
    const own = join(tmp, `autonomy-orchestrator-cache-${process.getuid!()}`);
    expect(first.said[1]).toBe(`compile cache: wrote ${join(own, first.said[0]!.replace('compile cache: none ', ''))}`);
    expect(statSync(own).mode & 0o777).toBe(0o700);
    const second = await runFrom(dist, { TMPDIR: tmp });
    expect(second.said[0]).toMatch(/^compile cache: used /);
    expect(readFileSync(join(dist, '.cache'), 'utf8')).toBe('not a directory');
  });

  it('is keyed to the bundle file: a rewritten bundle does not use the cache made for the old one', async () => {
    const dist = freshDist();
    await runFrom(dist);
    const [old] = cacheFiles(dist);
    // V8 checks only the source's length. A rebuild can keep the length and change the code: the
    // key holds the file's mtime, so even rewriting the same bytes must miss the old cache.
    const bundle = join(dist, 'cli-main.cjs');
    const text = readFileSync(bundle, 'latin1');
    writeFileSync(bundle, text, 'latin1');
    const rebuilt = await runFrom(dist);
    expect(rebuilt.outcome.exitCode).toBe(0);
    expect(rebuilt.said[0]).toMatch(/^compile cache: none /);
    const files = cacheFiles(dist);
    expect(files).toHaveLength(2);
    expect(files).toContain(old);
  });
});
