/**
 * A local OTLP/HTTP receiver for the trace tests: a plain HTTP server on 127.0.0.1 that takes
 * `POST /v1/traces` in OTLP/JSON (what `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` sends) and keeps
 * every span, flattened to what a tracing backend shows.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's enum: 1 internal, 2 server. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: { name: string; attributes: Record<string, string | number | boolean> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, string | number | boolean> }[];
  resource: Record<string, string | number | boolean>;
}

export interface Receiver {
  endpoint: string;
  spans: ReceivedSpan[];
  /** Every request body as received, to look for what must not be there. */
  bodies: string[];
  requests: { url: string; contentType: string }[];
  close(): Promise<void>;
}

type OtlpValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
type OtlpAttribute = { key: string; value: OtlpValue };

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue ?? ''));
  }
  return out;
}

export async function startReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const requests: Receiver['requests'] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      requests.push({ url: request.url ?? '', contentType: request.headers['content-type'] ?? '' });
      bodies.push(body);
      if (request.method === 'POST' && request.url === '/v1/traces' && request.headers['content-type']?.includes('json')) {
        const data = JSON.parse(body) as { resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: any[] }[] }[] };
        for (const resourceSpans of data.resourceSpans) {
          const resource = attributesOf(resourceSpans.resource.attributes);
          for (const scope of resourceSpans.scopeSpans) {
            for (const span of scope.spans) {
              spans.push({
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId ?? '',
                name: span.name,
                kind: span.kind,
                attributes: attributesOf(span.attributes),
                status: span.status ?? { code: 0 },
                events: (span.events ?? []).map((e: { name: string; attributes: OtlpAttribute[] }) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
                links: (span.links ?? []).map((l: { traceId: string; spanId: string; attributes: OtlpAttribute[] }) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attributesOf(l.attributes) })),
                resource,
              });
            }
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on: a receiver started and stopped. */
export async function deadEndpoint(): Promise<string> {
  const receiver = await startReceiver();
  await receiver.close();
  return receiver.endpoint;
}
