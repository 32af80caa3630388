/**
 * `--inspect` for one run: the inspector server, the WebSocket inspector that feeds it, and
 * opening the browser.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { InspectorServer } from '../inspect/inspector-server.js';
import type { ViewFlags } from './program.js';

type InspectFlags = NonNullable<ViewFlags['inspect']>;

export class InspectorSession {
  private sent = 0;

  private constructor(
    readonly server: InspectorServer,
    private readonly inspector: ReturnType<typeof createWebSocketInspector>,
  ) {}

  static async start(flags: InspectFlags, outputDir: string, mode: 'live' | 'replay' = 'live'): Promise<InspectorSession> {
    const server = await startServer(flags, outputDir, mode);
    let session: InspectorSession | null = null;
    const inspector = createWebSocketInspector({
      url: server.socketUrl,
      // Counts what is sent, so that the end of the run can wait for the relay to have it all.
      filter: () => {
        if (session) session.sent++;
        return true;
      },
    });
    session = new InspectorSession(server, inspector);
    await server.waitForProducer();
    return session;
  }

  readonly inspect = (event: InspectionEvent): void => this.inspector.inspect.next?.(event);

  /** Lets the last messages reach the relay and its viewers, then stops sending. */
  async finish(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
    await this.server.drain(this.sent);
    this.inspector.stop();
  }
}

export async function startServer(flags: InspectFlags, outputDir: string, mode: 'live' | 'replay'): Promise<InspectorServer> {
  try {
    return await InspectorServer.start({
      outputDir,
      mode,
      port: flags.port,
      ...(flags.inspectorUrl ? { inspectorUrl: flags.inspectorUrl } : {}),
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
