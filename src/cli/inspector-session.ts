/**
 * `--inspect` for one run: the inspector server, the run's inspection messages published to it in
 * process (no socket a local program could also publish on), and opening the browser.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { InspectionEvent } from 'xstate';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { InspectorServer, type PlanSteps } from '../inspect/inspector-server.js';
import { type MessageTap, createMessageTap } from '../inspect/messages.js';
import type { ViewFlags } from './program.js';

type InspectFlags = NonNullable<ViewFlags['inspect']>;

export class InspectorSession {
  private readonly tap: MessageTap;

  private constructor(readonly server: InspectorServer) {
    // The same messages the Stately inspector reads (messages.ts holds them to its converter).
    this.tap = createMessageTap((messages) => server.publish(messages));
  }

  static async start(flags: InspectFlags, outputDir: string, plan?: PlanSteps): Promise<InspectorSession> {
    return new InspectorSession(await startServer(flags, outputDir, 'live', plan));
  }

  readonly inspect = (event: InspectionEvent): void => this.tap.inspect(event);

  /** Lets the last messages reach the viewers. */
  async finish(): Promise<void> {
    await this.tap.settled();
  }
}

export async function startServer(flags: InspectFlags, outputDir: string, mode: 'live' | 'replay', plan?: PlanSteps): Promise<InspectorServer> {
  try {
    return await InspectorServer.start({
      outputDir,
      mode,
      port: flags.port,
      ...(flags.inspectorUrl ? { inspectorUrl: flags.inspectorUrl } : {}),
      ...(plan ? { plan } : {}),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = code === 'EADDRINUSE' ? 'is in use; choose another or leave it out for a free port' : `cannot be used: ${code ?? String(error)}`;
    throw new OrchestratorError(`--inspect-port ${flags.port} ${what}`, EXIT.usage);
  }
}

/** Opens the URL with xdg-open when there is one; a machine without a desktop is no error. */
export function openInBrowser(url: string): boolean {
  const opener = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'xdg-open')).find(isExecutable);
  if (!opener) return false;
  const child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
  child.on('error', () => {});
  child.unref();
  return true;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves at the next SIGINT or SIGTERM. */
export function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
