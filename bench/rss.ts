/**
 * Metric 3: the orchestrator's peak RSS while a stage writes a large amount to stdout.
 * Read from the report (`orchestrator_max_rss_kib`, maxRSS at the last report write) and, where
 * /usr/bin/time exists, cross-checked with its %M around the CLI process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RssResult {
  bytes: number;
  reportMaxRssKib: number;
  /** /usr/bin/time %M of the CLI process (largest of the waited-for processes), or null */
  timeMaxRssKib: number | null;
  /** the same two numbers for the CLI with two /bin/true stages, as the baseline */
  trivialReportMaxRssKib: number;
  trivialTimeMaxRssKib: number | null;
  stdoutLogBytes: number;
  wallMs: number;
  status: string;
}

const TIME = '/usr/bin/time';

export function measureRss(root: string, bytes: number): RssResult {
  const cliPath = join(root, 'dist/cli.js');
  const work = mkdtempSync(join(tmpdir(), 'ao-bench-rss-'));
  const hasTime = existsSync(TIME);
  try {
    const run = (dir: string, stageArgs: string[]) => {
      const cmd = [process.execPath, cliPath, dir, ...stageArgs];
      const t0 = performance.now();
      const r = hasTime
        ? spawnSync(TIME, ['-f', '%M', '-o', join(work, 'time.out'), ...cmd], { stdio: 'ignore' })
        : spawnSync(cmd[0] as string, cmd.slice(1), { stdio: 'ignore' });
      const wallMs = performance.now() - t0;
      if (r.status !== 0) throw new Error(`CLI exited ${r.status} for ${stageArgs.join(' ')}`);
      const report = JSON.parse(readFileSync(join(dir, 'orchestrator_run_report.json'), 'utf8')) as {
        orchestrator_max_rss_kib: number;
        stage_executions: Array<{ stage: string; status: string; stdout_log: string | null }>;
      };
      const timeKib = hasTime ? Number(readFileSync(join(work, 'time.out'), 'utf8').trim().split('\n').pop()) : null;
      return { report, timeKib, wallMs };
    };

    const trivial = run(join(work, 'trivial'), ['--manager-bin', '/bin/true', '--executor-bin', '/bin/true']);
    const big = run(join(work, 'big'), [
      '--manager-bin',
      'sh',
      '--manager-arg',
      '-c',
      '--manager-arg',
      `head -c ${bytes} /dev/zero`,
      '--executor-bin',
      '/bin/true',
    ]);
    const planning = big.report.stage_executions.find((e) => e.stage === 'planning');
    const log = planning?.stdout_log ?? null;
    const stdoutLogBytes = log && existsSync(log) ? statSync(log).size : 0;
    return {
      bytes,
      reportMaxRssKib: big.report.orchestrator_max_rss_kib,
      timeMaxRssKib: big.timeKib,
      trivialReportMaxRssKib: trivial.report.orchestrator_max_rss_kib,
      trivialTimeMaxRssKib: trivial.timeKib,
      stdoutLogBytes,
      wallMs: big.wallMs,
      status: planning?.status ?? 'missing',
    };
  } finally {
    // The big log goes with the temp dir.
    rmSync(work, { recursive: true, force: true });
  }
}
