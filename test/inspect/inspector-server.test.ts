import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { InspectorServer, MAX_VIEWER_BACKLOG } from '../../src/inspect/inspector-server.js';
import { MAX_CHILD_BYTES, MessageBuffer } from '../../src/inspect/message-buffer.js';
import type { InspectionMessage } from '../../src/inspect/messages.js';
import { urlIn } from '../support/browser.js';
import { STAGE, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

/** Opens a socket; resolves with it once open, or with the HTTP status the upgrade got. */
function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', reject);
  });
}

function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket client written by hand, so that it can send what no library would. */
async function rawSocket(port: number, token: string): Promise<Socket> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const head = await new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(String(chunk))));
  expect(head).toMatch(/^HTTP\/1\.1 101 /);
  return socket;
}

/** A masked client frame (`fin` set) with this opcode and payload. */
function frame(opcode: number, payload: Buffer, { masked = true, lengthHeader }: { masked?: boolean; lengthHeader?: Buffer } = {}): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const length =
    lengthHeader ?? (payload.length < 126 ? Buffer.from([payload.length]) : Buffer.from([126, payload.length >> 8, payload.length & 255]));
  length[0] = length[0]! | (masked ? 0x80 : 0);
  const body = masked ? Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!)) : payload;
  return Buffer.concat([Buffer.from([0x80 | opcode]), length, masked ? mask : Buffer.alloc(0), body]);
}

const HOSTILE_FRAMES: [string, Buffer][] = [
  ['invalid UTF-8 in a text frame', frame(0x1, Buffer.from([0xff, 0xfe, 0xfd]))],
  ['an unmasked frame', frame(0x1, Buffer.from('abc'), { masked: false })],
  ['an unknown opcode', frame(0x3, Buffer.alloc(0))],
  ['a length header of 2^63 - 1', frame(0x2, Buffer.alloc(0), { lengthHeader: Buffer.from([127, 0x7f, 255, 255, 255, 255, 255, 255, 255]) })],
  ['a message over the payload limit', frame(0x2, Buffer.alloc(64 * 1024, 1))],
];

const snapshot = (value: string): InspectionMessage => ({ type: '@xstate.snapshot', sessionId: 'x:0', rootId: 'x:0', snapshot: { value } }) as InspectionMessage;

describe('the inspector server', () => {
  it('listens on 127.0.0.1 only and refuses WebSocket upgrades from foreign origins or without the token', async () => {
    const server = await InspectorServer.start({ outputDir: tempDir(), mode: 'live' });
    try {
      expect(server.address.address).toBe('127.0.0.1');
      expect(await connect(server.socketUrl, { Origin: 'https://evil.example' })).toBe(403);
      expect(await connect(server.socketUrl, { Origin: `http://localhost:${server.port + 1}` })).toBe(403);
      expect(await connect(`ws://127.0.0.1:${server.port}/ws`)).toBe(403);
      expect(await connect(`ws://127.0.0.1:${server.port}/ws?token=${server.token.slice(1)}x`)).toBe(403);
      // A page of this server, and a program (which sends no Origin), may read with the token.
      const viewer = await connect(server.socketUrl, { Origin: `http://127.0.0.1:${server.port}` });
      expect(viewer).toBeInstanceOf(WebSocket);
      const received = new Promise<string>((resolve) => (viewer as WebSocket).once('message', (data) => resolve(String(data))));
      server.publish([snapshot('planning')]);
      expect(JSON.parse(await received)).toMatchObject({ type: '@xstate.snapshot', snapshot: { value: 'planning' } });
      (viewer as WebSocket).close();
    } finally {
      await server.stop();
    }
  });

  it('lets only the run publish: a viewer that sends is closed, and no viewer (nor a later one) sees what it sent', async () => {
    const server = await InspectorServer.start({ outputDir: tempDir(), mode: 'live' });
    try {
      const reader = (await connect(server.socketUrl)) as WebSocket;
      const seen: string[] = [];
      reader.on('message', (data) => seen.push(String(data)));
      const faker = (await connect(server.socketUrl)) as WebSocket;
      const closed = new Promise<number>((resolve) => faker.once('close', (code) => resolve(code)));
      faker.send(JSON.stringify({ ...snapshot('done'), snapshot: { value: 'done', status: 'done', context: { runId: 'fake' } } }));
      expect(await closed).toBe(1008);
      server.publish([snapshot('planning')]);
      await waitFor(() => seen.length === 1, 5_000, 'the published message');
      const late = new WebSocket(server.socketUrl);
      const first = await new Promise<string>((resolve) => late.once('message', (data) => resolve(String(data))));
      for (const text of [...seen, first]) expect(JSON.parse(text).snapshot.value).toBe('planning');
      expect(server.published).toBe(1);
      reader.close();
      late.close();
    } finally {
      await server.stop();
    }
  });

  it('drops a viewer that stops reading once its backlog passes the cap, and keeps serving the others', async () => {
    const server = await InspectorServer.start({ outputDir: tempDir(), mode: 'live' });
    try {
      const stuck = await rawSocket(server.port, server.token);
      stuck.pause();
      const reader = (await connect(server.socketUrl)) as WebSocket;
      let received = 0;
      reader.on('message', () => received++);
      const big = { ...snapshot('execution'), padding: 'x'.repeat(256 * 1024) } as InspectionMessage;
      const count = Math.ceil((MAX_VIEWER_BACKLOG * 4) / (256 * 1024));
      for (let i = 0; i < count; i++) {
        server.publish([big]);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await waitFor(() => received === count, 20_000, 'the reading viewer to get every message');
      await waitFor(() => server.viewers === 1, 5_000, 'the stuck viewer to be dropped');
      stuck.destroy();
      reader.close();
    } finally {
      await server.stop();
    }
  });

  it('answers only requests addressed to its loopback name, with its token, and only for its own files', async () => {
    const dir = tempDir();
    expect((await runCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok'])).exitCode).toBe(0);
    const server = await InspectorServer.start({ outputDir: dir, mode: 'replay' });
    const withToken = (path: string) => `${path}?token=${server.token}`;
    try {
      const page = await get(server.port, withToken('/'));
      expect(page.status).toBe(200);
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect((await get(server.port, withToken('/'), 'evil.example')).status).toBe(403);
      for (const path of ['/', '/viewer', '/api/report', '/api/events', '/api/machine', '/api/log/0/stdout', '/api/step-log/planning/manager/1/stdout']) {
        expect((await get(server.port, path)).status, path).toBe(403);
        expect((await get(server.port, `${path}?token=wrong`)).status, path).toBe(403);
      }
      // The page's own script and style are the package's code, not the run's data.
      expect((await get(server.port, '/viewer.css')).status).toBe(200);
      expect((await get(server.port, withToken('/../orchestrator_checkpoint.json'))).status).toBe(404);
      expect((await get(server.port, withToken('/api/log/0/stdout'))).body).toBe('ok from planning\n');
      // A step's log by byte range (negative: from the end), read by its name whether or not the report lists it.
      const range = await get(server.port, `${withToken('/api/step-log/planning/manager/1/stdout')}&offset=3&length=5`);
      expect([range.status, range.body, range.headers['x-log-offset'], range.headers['x-log-size']]).toEqual([200, 'from ', '3', '17']);
      expect((await get(server.port, `${withToken('/api/step-log/planning/manager/1/stdout')}&offset=-9`)).body).toBe('planning\n');
      expect((await get(server.port, `${withToken('/api/step-log/planning/manager/1/stdout')}&offset=99`)).body).toBe('');
      for (const bad of ['/api/step-log/planning/..%2F..%2Fetc/1/stdout', '/api/step-log/planning/../1/stdout', '/api/step-log/planning/manager/2/stdout', '/api/step-log/planning/manager/1/stdin']) {
        expect((await get(server.port, withToken(bad))).status, bad).toBe(404);
      }
      expect((await get(server.port, `${withToken('/api/step-log/planning/manager/1/stdout')}&offset=x`)).status).toBe(404);
      // A report that points a log elsewhere does not make the server read it.
      const reportPath = join(dir, 'orchestrator_run_report.json');
      const report = JSON.parse(readFileSync(reportPath, 'utf8'));
      report.stage_executions[0].stdout_log = '/etc/passwd';
      writeFileSync(reportPath, JSON.stringify(report));
      expect((await get(server.port, withToken('/api/log/0/stdout'))).status).toBe(404);
    } finally {
      await server.stop();
    }
  });

  it('keeps a byte-capped buffer for late viewers, with the root actor messages kept apart', () => {
    const buffer = new MessageBuffer();
    buffer.push('{"root":"definition"}', true);
    const chunk = 'y'.repeat(64 * 1024);
    for (let i = 0; i < (MAX_CHILD_BYTES / chunk.length) * 3; i++) buffer.push(chunk, false);
    expect(buffer.size).toBeLessThanOrEqual(MAX_CHILD_BYTES + 100);
    expect(buffer.messages()[0]).toBe('{"root":"definition"}');
  });
});

describe('a live run with --inspect', () => {
  it('ends as it would have when local clients send malformed frames, oversized messages, or stop reading', async () => {
    const dir = tempDir();
    const gate = join(dir, 'go-on');
    const run = startCli([
      dir,
      '--inspect',
      ...['--manager-bin', 'sh', '--manager-arg', '-c', '--manager-arg', `while [ ! -e ${gate} ]; do sleep 0.05; done`],
      ...['--executor-bin', STAGE, '--executor-arg', 'ok'],
    ]);
    let stderr = '';
    run.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => urlIn(stderr) !== null, 10_000, 'the inspector URL');
    const url = new URL(urlIn(stderr)!);
    const port = Number(url.port);
    const token = url.searchParams.get('token')!;

    const closedBy: string[] = [];
    for (const [name, bytes] of HOSTILE_FRAMES) {
      const socket = await rawSocket(port, token);
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.write(bytes);
      await closed;
      closedBy.push(name);
    }
    expect(closedBy).toHaveLength(HOSTILE_FRAMES.length);
    // Ten messages of 2 MiB each from one client: each is refused at its header.
    for (let i = 0; i < 10; i++) {
      const socket = await rawSocket(port, token);
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.write(frame(0x2, Buffer.alloc(0), { lengthHeader: Buffer.from([127, 0, 0, 0, 0, 0, 0x20, 0, 0]) }));
      socket.write(Buffer.alloc(2 * 1024 * 1024));
      await closed;
    }
    // A client that never reads, nor answers the close handshake, when the run ends.
    const silent = await rawSocket(port, token);
    silent.pause();

    writeFileSync(gate, '');
    const outcome = await run.done;
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stderr).not.toMatch(/Unhandled|\n\s+at /);
    const report = reportOf(dir);
    expect(report.status).toBe('finished');
    expect(report.terminal_state).toBe('done');
    expect(report.stage_executions.map((e: { stage: string; status: string }) => `${e.stage} ${e.status}`)).toEqual(['planning success', 'execution success']);
    silent.destroy();
  });
});
