// The services as real processes (src/server.ts through tsx: the tree as it is) and a tiny OTLP/HTTP
// receiver for them to export to (issue 11). Not a test file itself.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { ROOT, type RunningProcess, runNode, waitForHttp } from '../delivery/support.ts';

export interface OtlpSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/**
 * A local OTLP/HTTP receiver (JSON, as the services export): keeps every body of /v1/traces and
 * /v1/metrics, and counts the connections made to it at all.
 */
export async function startOtlpReceiver() {
  const traces: any[] = [];
  const metrics: any[] = [];
  const other: string[] = [];
  let connections = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body: Buffer = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        other.push(`${request.method} ${request.url} ${request.headers['content-type']} (not JSON)`);
        response.writeHead(400).end();
        return;
      }
      if (request.url === '/v1/traces') traces.push(parsed);
      else if (request.url === '/v1/metrics') metrics.push(parsed);
      else other.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    traces,
    metrics,
    other,
    get connections() {
      return connections;
    },
    /** Every span received so far, with its resource's service.name. */
    spans(): OtlpSpan[] {
      return traces.flatMap((body) =>
        (body.resourceSpans ?? []).flatMap((rs: any) => {
          const service = stringAttribute(rs.resource?.attributes, 'service.name') ?? '?';
          return (rs.scopeSpans ?? []).flatMap((ss: any) =>
            (ss.spans ?? []).map((span: any) => ({ ...span, service })),
          );
        }),
      );
    },
    /** service.name → names of the metrics received from it. */
    metricNames(): Map<string, Set<string>> {
      const names = new Map<string, Set<string>>();
      for (const body of metrics) {
        for (const rm of body.resourceMetrics ?? []) {
          const service = stringAttribute(rm.resource?.attributes, 'service.name') ?? '?';
          const set = names.get(service) ?? new Set<string>();
          for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) set.add(m.name);
          names.set(service, set);
        }
      }
      return names;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
export type OtlpReceiver = Awaited<ReturnType<typeof startOtlpReceiver>>;

export function stringAttribute(
  attributes: OtlpSpan['attributes'] | undefined,
  key: string,
): string | undefined {
  const value = attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue as string | undefined;
}

/**
 * A service's real process (src/server.ts through tsx, the tree as it is) with exactly `env`; resolves
 * once it answers HTTP. `logs()` parses its JSON lines.
 */
export async function runService(
  dir: 'usuarios' | 'reservas',
  env: Record<string, string>,
): Promise<RunningProcess & { url: string; logs(): Record<string, any>[]; stop(): Promise<void> }> {
  const proc = runNode(
    ['--conditions=servicios-source', '--import', 'tsx', `services/${dir}/src/server.ts`],
    {
      cwd: ROOT,
      env,
    },
  );
  const url = `http://127.0.0.1:${env.PORT}`;
  try {
    await waitForHttp(`${url}/healthz`, proc, 30_000);
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return {
    ...proc,
    url,
    logs: () =>
      proc.lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, any>];
        } catch {
          return [];
        }
      }),
    /** SIGTERM, as Cloud Run: the app closes (telemetry flushed), then SIGKILL if it lingers. */
    async stop() {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      proc.child.kill('SIGTERM');
      const done = await Promise.race([proc.exited, sleep(10_000, undefined, { ref: false })]);
      if (!done) await proc.kill();
    },
  };
}
