/**
 * The inspector server: a relay for inspection messages (what `@statelyai/inspect/server` does)
 * plus the viewer page and the run's report, event log and log tails. It listens on 127.0.0.1
 * only, answers only requests addressed to that host that carry the run's token, and refuses
 * WebSocket upgrades from pages of any other origin.
 *
 * Only the run publishes, in process (`publish`): a socket is a read-only viewer, and one that
 * sends anything is closed. Each socket's errors (a malformed frame, a payload over the small
 * limit) end that socket only; a viewer that stops reading is dropped once its backlog passes a
 * byte cap, and the buffer kept for late viewers is byte-capped too.
 *
 * Not `createInspectorServer` itself: that one listens on every interface, takes no Origin check
 * and needs its port fixed in advance; the messages and the bridge protocol here are the same.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { orchestrationMachine } from '../../machines/orchestration.js';
import { readReport, readRunReport, reportPathIn } from '../report/report-file.js';
import type { RunReport } from '../report/schema.js';
import { eventLogPathIn, readEventLog } from './event-log.js';
import { LOG_PAGE_BYTES, readLogPage, readLogTail } from './log-tail.js';
import { MessageBuffer } from './message-buffer.js';
import type { InspectionMessage } from './messages.js';
import { BRIDGE_JS, VIEWER_CSS, type ViewerMode, bridgeHtml, viewerHtml } from './viewer-page.js';

export const LOOPBACK = '127.0.0.1';
export const RUN_ENDED_MESSAGE = '@autonomy-orchestrator.run-ended';
/** Viewers send nothing; a frame longer than this is refused by the socket layer (close 1009). */
export const MAX_VIEWER_PAYLOAD = 1024;
/** Bytes queued for one viewer past which it is dropped: it stopped reading (it may reload). */
export const MAX_VIEWER_BACKLOG = 8 * 1024 * 1024;
/** How long a viewer has to answer the close handshake when the server stops. */
const CLOSE_GRACE_MS = 200;
/** At the end of a run, the log tails sent with the report: the failed executions', this many at most. */
const ENDED_TAILS = 20;

/** What the viewer reads of a plan: its steps' ids and needs, per stage. */
export interface PlanSteps {
  stages?: Partial<Record<string, readonly { id: string; needs?: readonly string[] }[]>>;
}

export interface InspectorServerOptions {
  outputDir: string;
  mode: ViewerMode;
  /** 0 (the default) takes a free port. */
  port?: number;
  /** Serve a bridge to this inspector UI at `/` instead of the viewer (which stays at `/viewer`). */
  inspectorUrl?: string;
  /** The run's plan, when it has one: the viewer shows each stage's progress against it. */
  plan?: PlanSteps;
  /** The token every page, data and socket request must carry (default: 24 random bytes). */
  token?: string;
}

export class InspectorServer {
  /** Messages published so far. */
  published = 0;
  readonly token: string;
  private readonly buffer = new MessageBuffer();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_VIEWER_PAYLOAD, perMessageDeflate: false });
  private cachedReport: { key: string; report: RunReport | null } | null = null;
  private cachedText: { key: string; text: string } | null = null;
  /** The end-of-run message, for viewers that connect after it (`--inspect-keep`). */
  private ended: string | null = null;

  private constructor(
    private readonly http: Server,
    private readonly options: InspectorServerOptions,
    readonly port: number,
  ) {
    this.token = options.token ?? randomBytes(24).toString('base64url');
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

  /** The URL to open: the page, with the token. */
  get url(): string {
    return `http://${LOOPBACK}:${this.port}/?token=${this.token}`;
  }

  get socketUrl(): string {
    return `ws://${LOOPBACK}:${this.port}/ws?token=${this.token}`;
  }

  /** Viewers connected now. */
  get viewers(): number {
    return this.wss.clients.size;
  }

  get address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  /** Hands the run's messages to every viewer, and keeps them for viewers that come later. */
  publish(messages: readonly InspectionMessage[]): void {
    for (const message of messages) {
      const text = JSON.stringify(message);
      this.published++;
      this.buffer.push(text, message.type === '@xstate.actor' || message.sessionId === message.rootId);
      this.broadcast(text);
    }
  }

  /**
   * Tells the viewers the run is over, with the final report and the log tails of its failed
   * executions: once the server stops they could not fetch them. The report is read once; the
   * other logs are read when a viewer opens them (or with `--inspect-keep`, after the run).
   * The Stately inspector ignores message types it does not know, and the bridge does not forward it.
   */
  announceEnd(): void {
    const report = this.report();
    const tails: Record<string, string> = {};
    let sent = 0;
    report?.stage_executions.forEach((execution, index) => {
      if (execution.status === 'success' || execution.status === 'skipped' || sent >= ENDED_TAILS) return;
      sent++;
      for (const stream of ['stdout', 'stderr'] as const) {
        const tail = this.logTailOf(report, index, stream);
        if (tail) tails[`${index}/${stream}`] = tail[1];
      }
    });
    this.ended = JSON.stringify({ type: RUN_ENDED_MESSAGE, report, tails });
    this.broadcast(this.ended);
  }

  /** Closes every viewer (a short grace, then the socket is cut) and the server. */
  async stop(): Promise<void> {
    const clients = [...this.wss.clients];
    for (const client of clients) client.close(1001, 'run ended');
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (clients.some((c) => c.readyState !== WebSocket.CLOSED) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const client of clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private broadcast(text: string): void {
    for (const client of this.wss.clients) {
      if (client.readyState !== WebSocket.OPEN) continue;
      if (client.bufferedAmount > MAX_VIEWER_BACKLOG) client.terminate();
      else client.send(text);
    }
  }

  private onConnection(socket: WebSocket): void {
    // A bad frame, bad UTF-8 or an oversized payload ends this socket only.
    socket.on('error', () => socket.terminate());
    socket.on('message', () => socket.close(1008, 'viewers are read-only'));
    for (const message of this.buffer.messages()) socket.send(message);
    if (this.ended !== null) socket.send(this.ended);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/ws' || !this.hostAllowed(req) || !this.originAllowed(req.headers.origin) || !this.tokenAllowed(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /** The token the CLI printed, as `?token=`: compared in constant time. */
  private tokenAllowed(req: IncomingMessage): boolean {
    const given = Buffer.from(new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '');
    const expected = Buffer.from(this.token);
    return given.length === expected.length && timingSafeEqual(given, expected);
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
    // The page's own script and style are the package's code; everything else is the run's.
    if (!PUBLIC_PATHS.has(path) && !this.tokenAllowed(req)) {
      return send(res, 403, 'text/plain', 'missing or wrong token: open the URL the orchestrator printed\n');
    }
    const route = this.route(path, new URL(req.url ?? '/', 'http://x').searchParams);
    if (route === null) return send(res, 404, 'text/plain', 'not found\n');
    const [type, body, headers] = route;
    send(res, 200, type, body, this.csp(), headers);
  }

  private route(path: string, query: URLSearchParams): [string, string, Record<string, string>?] | null {
    const { outputDir, mode, inspectorUrl } = this.options;
    if (path === '/') return inspectorUrl ? [HTML, bridgeHtml(inspectorUrl)] : [HTML, viewerHtml(mode)];
    if (path === '/viewer') return [HTML, viewerHtml(mode)];
    if (path === '/viewer.js') return [JS, viewerScript()];
    if (path === '/viewer.css') return [CSS, VIEWER_CSS];
    if (path === '/bridge.js') return [JS, BRIDGE_JS];
    if (path === '/api/machine') return [JSON_TYPE, JSON.stringify({ definition: machineDefinition() })];
    // The directory as the user gave it: the page's `--resume` commands are typed where they ran the first.
    if (path === '/api/run') return [JSON_TYPE, JSON.stringify({ outputDir, plan: planShape(this.options.plan) })];
    if (path === '/api/report') return [JSON_TYPE, this.reportText()];
    if (path === '/api/events') return [JSON_TYPE, JSON.stringify(readEventLog(eventLogPathIn(outputDir)))];
    const log = /^\/api\/log\/(\d{1,6})\/(stdout|stderr)$/.exec(path);
    if (log) return this.logTailOf(this.report(), Number(log[1]), log[2] as 'stdout' | 'stderr');
    const page = STEP_LOG.exec(path);
    if (page) return this.logPageOf(page[1]!, page[2]!, Number(page[3]), page[4]!, query);
    return null;
  }

  /**
   * A page of a step's log by its name (`logs/<stage>.<step>.attempt-<n>.<stream>.log`), whether or
   * not the report has its record yet: a running step's log is read as it grows. `offset` (negative:
   * from the end) and `length` (at most 64 KiB) pick the bytes; `X-Log-Offset` and `X-Log-Size` say
   * where they start and how long the file was.
   */
  private logPageOf(stage: string, step: string, attempt: number, stream: string, query: URLSearchParams): [string, string, Record<string, string>] | null {
    const offset = Number(query.get('offset') ?? '0');
    const length = Number(query.get('length') ?? String(LOG_PAGE_BYTES));
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || length < 0) return null;
    const file = join(this.options.outputDir, 'logs', `${stage}.${step}.attempt-${attempt}.${stream}.log`);
    const read = readLogPage(this.options.outputDir, file, offset, length);
    if (read === null) return null;
    return [TEXT, read.text, { 'X-Log-Offset': String(read.offset), 'X-Log-Size': String(read.size) }];
  }

  /**
   * A replay reads a finished or killed run: its records come from the records log where the report
   * lags. A live run's server shares the run's process, and reading the whole log at every poll of
   * a long run would cost the run itself: its report, rewritten as it goes, is read as it is.
   * Either is read again only once the report file changed: a viewer's polls and log reads of a
   * long run do not each parse its report.
   */
  /**
   * The report as the viewer polls it. Live, the file's own bytes: the run writes it whole (a temp
   * file renamed over it), and parsing, checking and printing it again at every poll cost the run's
   * own thread that much more per step as the run grew. A replay's is read once per change.
   */
  private reportText(): string {
    if (this.options.mode === 'replay') return JSON.stringify(this.report());
    const path = reportPathIn(this.options.outputDir);
    let key: string;
    try {
      const stat = statSync(path);
      key = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch {
      return 'null';
    }
    if (this.cachedText?.key === key) return this.cachedText.text;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return 'null'; // renamed over between the stat and the read: the next poll reads it
    }
    this.cachedText = { key, text };
    return text;
  }

  private report(): RunReport | null {
    const { outputDir, mode } = this.options;
    const path = reportPathIn(outputDir);
    let key: string;
    try {
      const stat = statSync(path);
      key = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch {
      return null;
    }
    if (this.cachedReport?.key === key) return this.cachedReport.report;
    const report = mode === 'replay' ? readRunReport(outputDir) : readReport(path);
    this.cachedReport = { key, report };
    return report;
  }

  private logTailOf(report: RunReport | null, index: number, stream: 'stdout' | 'stderr'): [string, string] | null {
    const execution = report?.stage_executions[index];
    const path = stream === 'stdout' ? execution?.stdout_log : execution?.stderr_log;
    if (!path) return null;
    const tail = readLogTail(this.options.outputDir, path);
    return tail === null ? null : [TEXT, tail];
  }

  private csp(): string {
    const frame = this.options.inspectorUrl ? new URL(this.options.inspectorUrl).origin : "'none'";
    const sockets = this.ownOrigins().map((origin) => origin.replace('http:', 'ws:'));
    return `default-src 'self'; connect-src 'self' ${sockets.join(' ')}; frame-src ${frame}; frame-ancestors 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:`;
  }
}

/** `/api/step-log/<stage>/<step>/<attempt>/<stream>`: a stage name, a plan's step id, an attempt, a stream. */
const STEP_LOG = /^\/api\/step-log\/([a-z_]{1,40})\/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\/(\d{1,6})\/(stdout|stderr)$/;
const PUBLIC_PATHS = new Set(['/viewer.js', '/viewer.css', '/bridge.js', '/favicon.ico']);
const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, status: number, type: string, body: string, csp?: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...headers,
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
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

/** Each stage's step ids and needs: all the viewer needs of a plan (never its programs, args or env). */
function planShape(plan: PlanSteps | undefined): Record<string, { id: string; needs: string[] }[]> | null {
  if (!plan) return null;
  return Object.fromEntries(Object.entries(plan.stages ?? {}).map(([stage, steps]) => [stage, (steps ?? []).map(({ id, needs }) => ({ id, needs: [...(needs ?? [])] }))]));
}
