/**
 * A real git repository for the delivery tests, in a temporary directory, and the environment a
 * run delivering into it gets: git's identity by GIT_* variables (no global configuration read or
 * needed), and test/fixtures/fake-gh first on PATH, which logs each call of `gh` to a file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from './cli.js';

export const FAKE_GH_DIR = join(ROOT, 'test', 'fixtures', 'fake-gh');

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Delivery Test',
  GIT_AUTHOR_EMAIL: 'delivery@example.test',
  GIT_COMMITTER_NAME: 'Delivery Test',
  GIT_COMMITTER_EMAIL: 'delivery@example.test',
  // No user or system configuration: the test sees git's defaults only.
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export interface DeliveryScene {
  /** The run's output directory (outside the repository). */
  out: string;
  repo: string;
  /** Where the fake gh logs its calls. */
  ghLog: string;
  /** The CLI's environment: git identity, fake gh first on PATH. */
  env: Record<string, string>;
  git(...args: string[]): string;
  /** Each call of gh: its working directory, whether DELIVERY_SECRET reached it, its arguments. */
  ghCalls(): { cwd: string; secret: boolean; args: string[] }[];
}

/** A repository on branch `trunk` with one commit, and (with `change`) a file not yet added. */
export function deliveryScene(change = true): DeliveryScene {
  const dir = realpathSync(tempDir('ao-delivery-'));
  const repo = join(dir, 'repo');
  const ghLog = join(dir, 'gh.log');
  const env = { ...IDENTITY, FAKE_GH_LOG: ghLog, PATH: `${FAKE_GH_DIR}:${process.env.PATH ?? ''}` };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, ...IDENTITY }, encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '-q', '-b', 'trunk', repo], { env: { ...process.env, ...IDENTITY } });
  writeFileSync(join(repo, 'README'), 'first\n');
  git('add', 'README');
  git('commit', '-q', '-m', 'initial');
  if (change) writeFileSync(join(repo, 'fix.txt'), 'the fix\n');
  return {
    out: join(dir, 'out'),
    repo,
    ghLog,
    env,
    git,
    ghCalls: () =>
      existsSync(ghLog)
        ? readFileSync(ghLog, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => {
              const [cwd, secret, ...args] = line.split('\t');
              return { cwd: cwd!, secret: secret === 'secret:set', args };
            })
        : [],
  };
}
