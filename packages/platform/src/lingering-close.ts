import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** How long, and how much, a closing connection keeps discarding what the client still sends. */
const LINGER_MS = 2000;
const LINGER_BYTES = 4 * 1024 * 1024;

/**
 * An answer given before the request's body was read (a 413 decided on Content-Length, a 401, a 415)
 * must reach a client that is still sending. Closing the socket at once would make the kernel answer
 * the unread bytes with a reset, and a client like Node's fetch would get EPIPE instead of the 413. So
 * the connection ends as web servers do it ("lingering close"): the answer, then our FIN, then what
 * still arrives is discarded for at most 2 s or 4 MiB before the socket is closed. A large body is
 * never read to decide the answer, nor read in full afterwards.
 */
export function registerLingeringClose(app: FastifyInstance, bodyLimit: number): void {
  // Callback style: this runs on every response.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete) {
      const declared = Number(request.headers['content-length']);
      // Unknown (chunked) or over the limit: not worth reading to keep the connection alive.
      if (!(declared <= bodyLimit) || reply.getHeader('connection') === 'close') {
        reply.header('connection', 'close');
        linger(request.raw.socket);
      }
    }
    done(null, payload);
  });
}

function linger(socket: Socket | null): void {
  if (!socket) return;
  // Node's HTTP server calls destroySoon() once the answer is written on a connection it closes.
  socket.destroySoon = function lingeringDestroySoon(this: Socket) {
    this.end();
    let discarded = 0;
    const stop = () => {
      clearTimeout(timer);
      this.destroy();
    };
    const timer = setTimeout(stop, LINGER_MS);
    timer.unref();
    this.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_BYTES) stop();
    });
    this.once('end', stop);
    this.resume();
  };
}
