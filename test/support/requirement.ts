/**
 * A suite that needs something the machine may lack (a server, a browser): run it when it is
 * there; otherwise say so loudly on a developer's machine, and fail under CI=true (`.ci/run`
 * provides everything, so a skip there would hide a broken setup).
 */
import { describe, it } from 'vitest';

export function describeWhen(name: string, available: boolean, missing: string, remedy: string, suite: () => void): void {
  if (available) {
    describe(name, suite);
    return;
  }
  const message = `${name}: ${missing}`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what it needs (CI must not skip)', () => {
        throw new Error(`${message}; CI=true, so this is a failure, not a skip (${remedy})`);
      });
    });
    return;
  }
  process.stderr.write(`\n${'!'.repeat(78)}\n!!! SKIPPED ${message}\n!!! ${remedy} to run this suite; CI=true fails instead of skipping\n${'!'.repeat(78)}\n\n`);
  // The one deliberate skip: only on a developer's machine that lacks what the suite needs (the
  // banner above names it and how to get it); under CI=true the branch above fails instead, and
  // `.ci/run` starts the servers, installs Chromium and runs as root, so CI never reaches here.
  describe.skip(name, suite);
}
