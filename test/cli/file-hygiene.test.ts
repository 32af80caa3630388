import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE, runCli, tempDir } from '../support/cli.js';

describe('files with bytes that are not UTF-8', () => {
  it('a plan is refused (exit 2) naming the file, not read with replaced characters', async () => {
    const dir = tempDir();
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, Buffer.concat([Buffer.from('{"stages":{"planning":[{"id":"a","bin":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}]}}')]));
    const result = await runCli([join(dir, 'out'), '--plan', plan]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe(`autonomy-orchestrator: plan ${plan}: not valid UTF-8`);
  });

  it('a checkpoint is refused on --resume (exit 1) and left byte for byte', async () => {
    const dir = tempDir();
    const checkpoint = join(dir, 'orchestrator_checkpoint.json');
    const bytes = Buffer.concat([Buffer.from('{"run_id":"run_'), Buffer.from([0xfe]), Buffer.from('","completed_stages":[],"terminal_state":null,"updated_at_unix_secs":1}')]);
    writeFileSync(checkpoint, bytes);
    const result = await runCli([dir, '--resume', '--manager-bin', STAGE, '--manager-arg', 'ok']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`cannot read checkpoint ${checkpoint}: it is not valid UTF-8`);
    expect(readFileSync(checkpoint).equals(bytes)).toBe(true);
  });
});

describe('temp files a killed writer left behind', () => {
  it('are removed by the next run when their writer is dead, and kept while it lives', async () => {
    const dir = tempDir();
    const deadPid = 2 ** 22 + 12_345; // above the default pid_max: no such process
    const stale = [
      join(dir, `.orchestrator_checkpoint.json.${deadPid}.3.tmp`),
      join(dir, `.orchestrator_run_report.json.${deadPid}.4.tmp`),
    ];
    const live = join(dir, `.orchestrator_checkpoint.json.${process.pid}.1.tmp`);
    for (const path of [...stale, live]) writeFileSync(path, '{"half":');
    const result = await runCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok']);
    expect(result.exitCode).toBe(0);
    for (const path of stale) expect(existsSync(path), path).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});
