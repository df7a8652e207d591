// The overhead comparisons of the benchmark: one scenario run on two variants of the service (with and
// without authentication, with and without telemetry), and the OTLP receiver the telemetry variant
// exports to. Each variant runs on a fresh process, back to back, in the order A, B, B, A (repeated:
// this machine's speed varies by 20 % from one run to the next), so that a drift of the machine's
// speed cancels out of the ratio of the means.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Comparison {
  name: string;
  /** Means of the runs (req/s), and each run. */
  measured: number;
  reference: number;
  ratio: number;
  met: boolean;
  runs: { measured: number[]; reference: number[] };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const round = (value: number, digits = 0) => Number(value.toFixed(digits));

/**
 * Runs `measure` as measured, reference, reference, measured, `rounds` times; `met` when the ratio of
 * the means reaches `bound`.
 */
export async function interleaved(
  name: string,
  bound: number,
  rounds: number,
  measure: (variant: 'measured' | 'reference') => Promise<number>,
): Promise<Comparison> {
  const runs = { measured: [] as number[], reference: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    runs.measured.push(await measure('measured'));
    runs.reference.push(await measure('reference'), await measure('reference'));
    runs.measured.push(await measure('measured'));
  }
  const ratio = round(mean(runs.measured) / mean(runs.reference), 3);
  return {
    name,
    measured: round(mean(runs.measured)),
    reference: round(mean(runs.reference)),
    ratio,
    met: ratio >= bound,
    runs: { measured: runs.measured.map((r) => round(r)), reference: runs.reference.map((r) => round(r)) },
  };
}

/**
 * An OTLP/HTTP receiver that accepts every export and counts what it got: the services' exporters
 * find an endpoint that answers as a collector would, and the harness can tell that spans did leave.
 */
export async function otlpReceiver(): Promise<{
  url: string;
  exports: () => { traces: number; metrics: number };
  close: () => Promise<void>;
}> {
  const counts = { traces: 0, metrics: 0 };
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.url === '/v1/traces') counts.traces++;
      if (request.url === '/v1/metrics') counts.metrics++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exports: () => ({ ...counts }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
