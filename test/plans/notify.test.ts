/**
 * Notification hooks as a user sees them: real HTTP servers on 127.0.0.1 (one that fails first,
 * one that never answers) and commands; the report records each hook, the run's outcome and exit
 * code never change.
 */
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, describe } from 'vitest';
import { reportOf, runCli, tempDir } from '../support/cli.js';
import { fixtureStep, writePlan } from './plan-runs.js';

interface Received {
  path: string;
  body: any;
}

const received: Received[] = [];
let server: Server;
let base = '';
let flakyCalls = 0;

const bodyOf = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    request.on('data', (chunk) => (text += chunk));
    request.on('end', () => resolve(text));
  });

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const body = await bodyOf(request);
    received.push({ path: request.url ?? '', body: JSON.parse(body) });
    if (request.url?.startsWith('/flaky?') && ++flakyCalls === 1) return response.writeHead(500).end();
    if (request.url === '/hang') return; // never answers
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('notification hooks', () => {
  it('retry a failing POST, record a hanging one and a failing command, and leave the outcome alone', async () => {
    const dir = tempDir('ao-notify-');
    const out = join(dir, 'out');
    const stdinCopy = join(dir, 'summary.json');
    const plan = writePlan(dir, {
      notify: [
        { on: ['done'], http: { url: `${base}/flaky?token=sekret`, timeoutMs: 2_000, retries: 2, backoffMs: 10 } },
        { on: ['done', 'failed'], http: { url: `${base}/hang`, timeoutMs: 300, retries: 1, backoffMs: 10 } },
        { on: ['done'], command: { bin: 'sh', args: ['-c', `cat > '${stdinCopy}'; echo "$ORCHESTRATOR_TERMINAL_STATE" >> '${stdinCopy}.state'`] } },
        { on: ['done'], command: { bin: 'sh', args: ['-c', 'exit 3'], retries: 1, backoffMs: 10 } },
        { on: ['failed'], http: { url: `${base}/never` } },
      ],
      stages: { planning: [fixtureStep('s1', join(dir, 'trace'))] },
    });
    const started = Date.now();
    const result = await runCli([out, '--plan', plan]);
    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(8_000);
    const report = reportOf(out);
    expect(report.terminal_state).toBe('done');
    expect(report.notifications).toEqual([
      { hook: 'notify[0]', kind: 'http', on: 'done', ok: true, attempts: 2, error: null, duration_ms: expect.any(Number) },
      { hook: 'notify[1]', kind: 'http', on: 'done', ok: false, attempts: 2, error: 'no answer within 300 ms', duration_ms: expect.any(Number) },
      { hook: 'notify[2]', kind: 'command', on: 'done', ok: true, attempts: 1, error: null, duration_ms: expect.any(Number) },
      { hook: 'notify[3]', kind: 'command', on: 'done', ok: false, attempts: 2, error: 'exit code 3', duration_ms: expect.any(Number) },
    ]);
    expect(received.filter((r) => r.path.startsWith('/flaky'))).toHaveLength(2);
    expect(received.some((r) => r.path === '/never')).toBe(false);
    const posted = received.find((r) => r.path.startsWith('/flaky'))!.body;
    expect(posted).toMatchObject({ run_id: report.run_id, terminal_state: 'done', steps: { 'planning/s1': { success: 1, failure: 0 } } });
    expect(JSON.parse(readFileSync(stdinCopy, 'utf8'))).toMatchObject({ run_id: report.run_id, terminal_state: 'done' });
    expect(readFileSync(`${stdinCopy}.state`, 'utf8')).toBe('done\n');
    expect(JSON.stringify(report) + result.stdout + result.stderr).not.toContain('sekret');
  });

  it('a failed run stays failed (exit 1) whatever its hooks do', async () => {
    const dir = tempDir('ao-notify-failed-');
    const out = join(dir, 'out');
    const plan = writePlan(dir, {
      notify: [{ on: ['failed'], command: { bin: '/nonexistent/hook' } }, { on: ['done'], command: { bin: 'true' } }],
      stages: { planning: [fixtureStep('s1', join(dir, 'trace'), { 'fail-attempts': 1 })] },
    });
    const result = await runCli([out, '--plan', plan]);
    expect(result.exitCode).toBe(1);
    const report = reportOf(out);
    expect(report.terminal_state).toBe('failed');
    expect(report.notifications).toEqual([
      { hook: 'notify[0]', kind: 'command', on: 'failed', ok: false, attempts: 3, error: expect.stringMatching(/^cannot start \/nonexistent\/hook: ENOENT/), duration_ms: expect.any(Number) },
    ]);
  });

  it('a hook with a bad URL or no terminal state is a plan error naming the field, exit 2', async () => {
    const dir = tempDir('ao-notify-bad-');
    const bad = writePlan(dir, { notify: [{ on: ['done'], http: { url: 'ftp://x' } }], stages: {} });
    const result = await runCli([join(dir, 'out'), '--plan', bad]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/notify/);
    const none = writePlan(dir, { notify: [{ on: [], command: { bin: 'true' } }], stages: {} }, 'none.json');
    expect((await runCli([join(dir, 'out2'), '--plan', none])).exitCode).toBe(2);
  });
});
