import { type CloudEvent, pushEnvelope, toPubSubMessage } from './cloudevents.js';

/** Where the relay sends the outbox's events. */
export interface Publisher {
  readonly describe: string;
  /** Publishes one event; rejects if it did not make it. */
  publish(event: CloudEvent): Promise<void>;
  close(): Promise<void>;
}

/**
 * Google Cloud Pub/Sub, or its emulator when PUBSUB_EMULATOR_HOST is set (the client library honours
 * it). Ordering is on, keyed by subject; a failed key is resumed so that its next try can go out.
 * Loaded on first use: a service without Pub/Sub never pays for gRPC.
 */
export async function pubSubPublisher(options: {
  project?: string;
  topic: string;
  /** `host:port` of the official emulator: plain gRPC, no credentials. */
  emulatorHost?: string;
}): Promise<Publisher> {
  const { PubSub } = await import('@google-cloud/pubsub');
  const emulator = options.emulatorHost
    ? { apiEndpoint: options.emulatorHost, emulatorMode: true, projectId: options.project ?? 'local' }
    : {};
  const client = new PubSub({ ...(options.project ? { projectId: options.project } : {}), ...emulator });
  const topic = client.topic(options.topic, {
    messageOrdering: true,
    // Small batches, sent quickly: events are few and latency matters (deactivation → cancellation).
    batching: { maxMessages: 100, maxMilliseconds: 5 },
    // A slow publish holds only its own subject (the relay does not wait for it), but give up on it
    // within a minute so that the event is tried again.
    gaxOpts: { timeout: 60_000 },
  });
  return {
    describe: `Pub/Sub topic ${options.topic}${options.emulatorHost ? ` (emulator at ${options.emulatorHost})` : ''}`,
    async publish(event) {
      try {
        await topic.publishMessage(toPubSubMessage(event));
      } catch (err) {
        // A failed ordering key stops taking messages until resumed: the relay sends this one again.
        topic.resumePublishing(event.subject);
        throw err;
      }
    },
    async close() {
      await topic.flush().catch(() => undefined);
      await client.close();
    },
  };
}

/**
 * The embedded default (`npm start` with nothing configured): the events go straight to the
 * consumer's push endpoint in Pub/Sub's push envelope, with a short-lived token signed by the
 * identity provider in place of Pub/Sub's OIDC token.
 */
export function localPushPublisher(options: {
  endpoint: string;
  source: string;
  token: () => Promise<string>;
}): Publisher {
  let sequence = 0;
  return {
    describe: `local push to ${options.endpoint}`,
    async publish(event) {
      const body = pushEnvelope(
        { ...toPubSubMessage(event), messageId: `${Date.now()}-${++sequence}` },
        `local/${options.source}`,
      );
      const response = await fetch(options.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await options.token()}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      // Anything but 2xx is a failed push, as for Pub/Sub: the relay tries again.
      if (!response.ok) throw new Error(`push answered ${response.status}`);
    },
    close: async () => {},
  };
}

/** The embedded database with no delivery configured: nobody else can consume, so events are dropped. */
export function discardPublisher(log: (event: CloudEvent) => void): Publisher {
  return {
    describe: 'none: events of the embedded database are discarded (set PUBSUB_TOPIC to publish them)',
    async publish(event) {
      log(event);
    },
    close: async () => {},
  };
}
