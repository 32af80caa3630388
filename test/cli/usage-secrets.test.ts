import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/cli.js';

describe('a malformed --manager-env', () => {
  it('exits 2 naming the flag, without echoing the value (it may be a secret)', async () => {
    const secret = `s3cr3t-${process.pid}-${Date.now()}`;
    const result = await runCli([tempDir(), '--manager-env', secret]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--manager-env takes KEY=VALUE');
    expect(result.stderr + result.stdout).not.toContain(secret);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
