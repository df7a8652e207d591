// Logs shaped for Cloud Logging: `severity` and `message` on every JSON line, and the trace fields
// taken from `traceparent` (W3C) or `X-Cloud-Trace-Context` (Google's legacy header).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { loggerOptions, traceFields } from '../src/logging.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('loggerOptions (not on a TTY)', () => {
  test('every level becomes a Cloud Logging severity; msg becomes message', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = pino(loggerOptions({ level: 'trace', service: 'svc', pretty: false }), sink);
    logger.trace('t');
    logger.debug('d');
    logger.info({ extra: 1 }, 'i');
    logger.warn('w');
    logger.error(new Error('boom'), 'e');
    logger.fatal('f');
    assert.deepEqual(
      lines.map((l) => [l.severity, l.message]),
      [
        ['DEBUG', 't'],
        ['DEBUG', 'd'],
        ['INFO', 'i'],
        ['WARNING', 'w'],
        ['ERROR', 'e'],
        ['CRITICAL', 'f'],
      ],
    );
    for (const line of lines) {
      assert.equal('level' in line, false);
      assert.equal('msg' in line, false);
      assert.deepEqual(line.serviceContext, { service: 'svc' });
      assert.match(String(line.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    assert.equal(lines[2]?.extra, 1);
  });

  test('credentials are redacted', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino(loggerOptions({ level: 'info', service: 'svc', pretty: false }), sink);
    logger.info({ req: { headers: { authorization: 'Bearer abc' } }, db: { password: 'pw' } }, 'x');
    assert.doesNotMatch(lines.join(''), /Bearer abc|"pw"/);
  });
});

describe('traceFields', () => {
  test('nothing without a project or without a trace header', () => {
    assert.deepEqual(traceFields({ traceparent: `00-${TRACE}-00f067aa0ba902b7-01` }, undefined), {});
    assert.deepEqual(traceFields({}, 'p'), {});
    assert.deepEqual(traceFields({ traceparent: 'basura' }, 'p'), {});
    assert.deepEqual(traceFields({ 'x-cloud-trace-context': 'corto/1' }, 'p'), {});
  });

  test('from traceparent: trace, span and the sampled flag', () => {
    assert.deepEqual(traceFields({ traceparent: `00-${TRACE}-00f067aa0ba902b7-01` }, 'p'), {
      'logging.googleapis.com/trace': `projects/p/traces/${TRACE}`,
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
    });
    assert.equal(
      traceFields({ traceparent: `00-${TRACE}-00f067aa0ba902b7-00` }, 'p')[
        'logging.googleapis.com/trace_sampled'
      ],
      false,
    );
  });

  test('from X-Cloud-Trace-Context: the decimal span id becomes 16 hex digits', () => {
    assert.deepEqual(traceFields({ 'x-cloud-trace-context': `${TRACE}/123;o=1` }, 'p'), {
      'logging.googleapis.com/trace': `projects/p/traces/${TRACE}`,
      'logging.googleapis.com/spanId': '000000000000007b',
      'logging.googleapis.com/trace_sampled': true,
    });
    assert.deepEqual(traceFields({ 'x-cloud-trace-context': TRACE }, 'p'), {
      'logging.googleapis.com/trace': `projects/p/traces/${TRACE}`,
      'logging.googleapis.com/trace_sampled': false,
    });
  });

  test('traceparent wins when both are present', () => {
    const other = 'ffffffffffffffffffffffffffffffff';
    const fields = traceFields(
      { traceparent: `00-${TRACE}-00f067aa0ba902b7-01`, 'x-cloud-trace-context': `${other}/1;o=1` },
      'p',
    );
    assert.equal(fields['logging.googleapis.com/trace'], `projects/p/traces/${TRACE}`);
  });
});
