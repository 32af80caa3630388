/**
 * The real servers the store suites run against, and what happens when one is not there: a loud
 * line naming the skipped suite on a developer's machine, a failing test under CI=true.
 */
import { createConnection } from 'node:net';
import { describeWhen } from '../support/requirement.js';

export const PG_DSN = process.env.TEST_PG_DSN ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Resolves true when something accepts TCP connections at the URL's host and port. */
export function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Runs `suite` when the server is up; otherwise says so loudly, or fails under CI. */
export function describeWithServer(name: string, up: boolean, where: string, suite: () => void): void {
  describeWhen(name, up, `no server at ${where}`, 'start it (see .ci/run)', suite);
}
