import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { inSpan, type Telemetry } from './setup.js';

/**
 * `fetch` as a client span named `GET <route template>` (the template, so no id or e-mail lands in a
 * span name), with the W3C trace context in the request headers: the callee's spans join this trace.
 */
export function tracedFetch(
  telemetry: Telemetry,
  route: { method: string; template: string },
  url: string,
  init: RequestInit & { headers?: Record<string, string> } = {},
): Promise<Response> {
  return inSpan(
    telemetry,
    `${route.method} ${route.template}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': route.method,
        'url.template': route.template,
        'server.address': new URL(url).host,
      },
    },
    async (span) => {
      const headers: Record<string, string> = { ...init.headers };
      telemetry.inject(headers);
      const response = await fetch(url, { ...init, method: route.method, headers });
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    },
  );
}
