/**
 * The inspector server: a relay for inspection messages (what `@statelyai/inspect/server` does)
 * plus the viewer page and the run's report, event log and log tails. It listens on 127.0.0.1
 * only, answers only requests addressed to that host, and refuses WebSocket upgrades from pages
 * of any other origin.
 *
 * Not `createInspectorServer` itself: that one listens on every interface, takes no Origin check
 * and needs its port fixed in advance; the messages and the bridge protocol here are the same.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { orchestrationMachine } from '../../machines/orchestration.js';
import { readReport, readRunReport, reportPathIn } from '../report/report-file.js';
import type { RunReport } from '../report/schema.js';
import { eventLogPathIn, readEventLog } from './event-log.js';
import { readLogTail } from './log-tail.js';
import { BRIDGE_JS, VIEWER_CSS, type ViewerMode, bridgeHtml, viewerHtml } from './viewer-page.js';

export const LOOPBACK = '127.0.0.1';
export const RUN_ENDED_MESSAGE = '@autonomy-orchestrator.run-ended';
/** Enough for many runs' messages; the oldest go first past it (a run sends a few dozen per stage). */
const MAX_BUFFERED_MESSAGES = 20_000;

export interface InspectorServerOptions {
  outputDir: string;
  mode: ViewerMode;
  /** 0 (the default) takes a free port. */
  port?: number;
  /** Serve a bridge to this inspector UI at `/` instead of the viewer (which stays at `/viewer`). */
  inspectorUrl?: string;
}

export class InspectorServer {
  /** Messages the relay has received from producers. */
  received = 0;
  private readonly buffer: string[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(
    private readonly http: Server,
    private readonly options: InspectorServerOptions,
    readonly port: number,
  ) {
    this.wss.on('connection', (socket) => this.onConnection(socket));
    http.on('request', (req, res) => this.onRequest(req, res));
    http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  static async start(options: InspectorServerOptions): Promise<InspectorServer> {
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, LOOPBACK, () => resolve());
    });
    return new InspectorServer(http, options, (http.address() as AddressInfo).port);
  }

  get url(): string {
    return `http://${LOOPBACK}:${this.port}/`;
  }

  get socketUrl(): string {
    return `ws://${LOOPBACK}:${this.port}/ws`;
  }

  get address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  /** Waits (up to `timeoutMs`) until a producer (or any client) is connected. */
  async waitForProducer(timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.wss.clients.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  /** Waits (up to `timeoutMs`) until `count` messages have come in, so that none is cut off. */
  async drain(count: number, timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  /**
   * Tells the viewers the run is over, with the final report and its log tails: once the server
   * stops they could not fetch them. The Stately inspector ignores message types it does not know.
   */
  announceEnd(): void {
    const report = this.report();
    const tails: Record<string, string> = {};
    report?.stage_executions.forEach((_execution, index) => {
      for (const stream of ['stdout', 'stderr'] as const) {
        const tail = this.logTail(index, stream);
        if (tail) tails[`${index}/${stream}`] = tail[1];
      }
    });
    const message = JSON.stringify({ type: RUN_ENDED_MESSAGE, report, tails });
    for (const client of this.wss.clients) if (client.readyState === WebSocket.OPEN) client.send(message);
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.close(1001, 'run ended');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private onConnection(socket: WebSocket): void {
    for (const message of this.buffer) socket.send(message);
    socket.on('message', (data) => {
      const message = data.toString();
      this.received++;
      this.buffer.push(message);
      if (this.buffer.length > MAX_BUFFERED_MESSAGES) this.buffer.shift();
      for (const client of this.wss.clients) {
        if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
      }
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/ws' || !this.hostAllowed(req) || !this.originAllowed(req.headers.origin)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /** Browsers always send Origin: only this server's own pages may connect. Programs send none. */
  private originAllowed(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    return this.ownOrigins().includes(origin);
  }

  /** Against DNS rebinding: the request must be addressed to the loopback name of this server. */
  private hostAllowed(req: IncomingMessage): boolean {
    const host = req.headers.host;
    return host === `${LOOPBACK}:${this.port}` || host === `localhost:${this.port}`;
  }

  private ownOrigins(): string[] {
    return [`http://${LOOPBACK}:${this.port}`, `http://localhost:${this.port}`];
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (!this.hostAllowed(req)) return send(res, 403, 'text/plain', 'forbidden host\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = this.route(path);
    if (route === null) return send(res, 404, 'text/plain', 'not found\n');
    const [type, body] = route;
    send(res, 200, type, body, this.csp());
  }

  private route(path: string): [string, string] | null {
    const { outputDir, mode, inspectorUrl } = this.options;
    if (path === '/') return inspectorUrl ? [HTML, bridgeHtml(inspectorUrl)] : [HTML, viewerHtml(mode)];
    if (path === '/viewer') return [HTML, viewerHtml(mode)];
    if (path === '/viewer.js') return [JS, viewerScript()];
    if (path === '/viewer.css') return [CSS, VIEWER_CSS];
    if (path === '/bridge.js') return [JS, BRIDGE_JS];
    if (path === '/api/machine') return [JSON_TYPE, JSON.stringify({ definition: machineDefinition() })];
    if (path === '/api/report') return [JSON_TYPE, JSON.stringify(this.report())];
    if (path === '/api/events') return [JSON_TYPE, JSON.stringify(readEventLog(eventLogPathIn(outputDir)))];
    const log = /^\/api\/log\/(\d{1,6})\/(stdout|stderr)$/.exec(path);
    if (log) return this.logTail(Number(log[1]), log[2] as 'stdout' | 'stderr');
    return null;
  }

  /**
   * A replay reads a finished or killed run: its records come from the records log where the report
   * lags. A live run's server shares the run's process, and reading the whole log at every poll of
   * a long run would cost the run itself: its report, rewritten as it goes, is read as it is.
   */
  private report(): RunReport | null {
    const { outputDir, mode } = this.options;
    return mode === 'replay' ? readRunReport(outputDir) : readReport(reportPathIn(outputDir));
  }

  private logTail(index: number, stream: 'stdout' | 'stderr'): [string, string] | null {
    const report = this.report();
    const execution = report?.stage_executions[index];
    const path = stream === 'stdout' ? execution?.stdout_log : execution?.stderr_log;
    if (!path) return null;
    const tail = readLogTail(this.options.outputDir, path);
    return tail === null ? null : [TEXT, tail];
  }

  private csp(): string {
    const frame = this.options.inspectorUrl ? new URL(this.options.inspectorUrl).origin : "'none'";
    const sockets = this.ownOrigins().map((origin) => origin.replace('http:', 'ws:'));
    return `default-src 'self'; connect-src 'self' ${sockets.join(' ')}; frame-src ${frame}; style-src 'self' 'unsafe-inline'; img-src 'self' data:`;
  }
}

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, status: number, type: string, body: string, csp?: string): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    ...(csp ? { 'Content-Security-Policy': csp } : {}),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

let cachedScript: string | null = null;

/** The bundled viewer: beside dist/cli.js, or in dist/ when running from the sources. */
function viewerScript(): string {
  if (cachedScript !== null) return cachedScript;
  const candidates = [new URL('./viewer.js', import.meta.url), new URL('../../dist/viewer.js', import.meta.url)];
  const found = candidates.map((url) => fileURLToPath(url)).find((path) => existsSync(path));
  cachedScript = found ? readFileSync(found, 'utf8') : 'document.body.textContent = "viewer.js is missing: run npm run build";';
  return cachedScript;
}

/** The machine as the `@xstate.actor` message carries it; the viewer uses it before any message comes. */
function machineDefinition(): string {
  return JSON.stringify(orchestrationMachine.config, (_key, value: unknown) =>
    typeof value === 'function' ? { type: (value as { name: string }).name } : value,
  );
}
