import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { InspectorServer } from '../../src/inspect/inspector-server.js';
import { STAGE, runCli, tempDir } from '../support/cli.js';

/** Opens a socket; resolves with it once open, or with the HTTP status the upgrade got. */
function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', reject);
  });
}

function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the inspector server', () => {
  it('listens on 127.0.0.1 only and refuses WebSocket upgrades from foreign origins', async () => {
    const server = await InspectorServer.start({ outputDir: tempDir(), mode: 'live' });
    try {
      expect(server.address.address).toBe('127.0.0.1');
      expect(await connect(server.socketUrl, { Origin: 'https://evil.example' })).toBe(403);
      expect(await connect(server.socketUrl, { Origin: `http://localhost:${server.port + 1}` })).toBe(403);
      // A page of this server, and a program (which sends no Origin), may connect.
      const viewer = await connect(server.socketUrl, { Origin: `http://127.0.0.1:${server.port}` });
      const producer = await connect(server.socketUrl);
      expect(viewer).toBeInstanceOf(WebSocket);
      expect(producer).toBeInstanceOf(WebSocket);
      const received = new Promise((resolve) => (viewer as WebSocket).once('message', (data) => resolve(String(data))));
      (producer as WebSocket).send('{"type":"@xstate.event","sessionId":"x:0"}');
      expect(await received).toBe('{"type":"@xstate.event","sessionId":"x:0"}');
      (viewer as WebSocket).close();
      (producer as WebSocket).close();
    } finally {
      await server.stop();
    }
  });

  it('answers only requests addressed to its loopback name, and only for its own files', async () => {
    const dir = tempDir();
    expect((await runCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok'])).exitCode).toBe(0);
    const server = await InspectorServer.start({ outputDir: dir, mode: 'replay' });
    try {
      expect((await get(server.port, '/')).status).toBe(200);
      expect((await get(server.port, '/', 'evil.example')).status).toBe(403);
      expect((await get(server.port, '/../orchestrator_checkpoint.json')).status).toBe(404);
      expect((await get(server.port, '/api/log/0/stdout')).body).toBe('ok from planning\n');
      // A report that points a log elsewhere does not make the server read it.
      const reportPath = join(dir, 'orchestrator_run_report.json');
      const report = JSON.parse(readFileSync(reportPath, 'utf8'));
      report.stage_executions[0].stdout_log = '/etc/passwd';
      writeFileSync(reportPath, JSON.stringify(report));
      expect((await get(server.port, '/api/log/0/stdout')).status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});
