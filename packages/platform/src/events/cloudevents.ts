/**
 * CloudEvents 1.0 in Pub/Sub's binary mode (CONTRACT §6): the event's attributes travel as message
 * attributes (`ce-*`), its JSON data as the message data, ordered by `ce-subject`.
 */

/** An event as the outbox holds it and as a consumer receives it. */
export interface CloudEvent {
  id: string;
  type: string;
  source: string;
  subject: string;
  /** RFC 3339, UTC. */
  time: string;
  data: Record<string, unknown>;
  /** W3C trace context of the change that produced it, when there is one. */
  traceparent?: string;
}

export interface PubSubMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
}

export function toPubSubMessage(event: CloudEvent): PubSubMessage {
  return {
    data: Buffer.from(JSON.stringify(event.data)),
    attributes: {
      'ce-specversion': '1.0',
      'ce-id': event.id,
      'ce-type': event.type,
      'ce-source': event.source,
      'ce-subject': event.subject,
      'ce-time': event.time,
      'content-type': 'application/json',
      ...(event.traceparent ? { traceparent: event.traceparent } : {}),
    },
    orderingKey: event.subject,
  };
}

/** The body Pub/Sub POSTs to a push endpoint: what the local delivery sends too. */
export function pushEnvelope(message: PubSubMessage & { messageId: string }, subscription: string) {
  const publishTime = new Date().toISOString();
  return {
    message: {
      attributes: message.attributes,
      data: message.data.toString('base64'),
      messageId: message.messageId,
      message_id: message.messageId,
      publishTime,
      publish_time: publishTime,
      orderingKey: message.orderingKey,
    },
    subscription,
  };
}

/** Why a push cannot be read as a CloudEvent: answered 400, so that it ends in the dead-letter topic. */
export class MalformedPush extends Error {
  constructor(reason: string) {
    super(`malformed push: ${reason}`);
    this.name = 'MalformedPush';
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The CloudEvent inside a Pub/Sub push envelope, or MalformedPush. */
export function fromPushEnvelope(body: unknown): CloudEvent {
  const message = (body as { message?: unknown } | null)?.message as
    | { attributes?: unknown; data?: unknown }
    | undefined;
  if (!message || typeof message !== 'object') throw new MalformedPush('no message');
  const attributes = (message.attributes ?? {}) as Record<string, unknown>;
  const attribute = (name: string) => {
    const value = attributes[name];
    if (typeof value !== 'string' || value === '') throw new MalformedPush(`attribute ${name} missing`);
    return value;
  };
  if (attribute('ce-specversion') !== '1.0') throw new MalformedPush('ce-specversion is not 1.0');
  const time = attribute('ce-time');
  if (!RFC3339.test(time) || Number.isNaN(Date.parse(time)))
    throw new MalformedPush('ce-time is not RFC 3339');
  if (typeof message.data !== 'string') throw new MalformedPush('no data');
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  } catch {
    throw new MalformedPush('data is not JSON');
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new MalformedPush('data is not an object');
  const traceparent = attributes.traceparent;
  return {
    id: attribute('ce-id'),
    type: attribute('ce-type'),
    source: attribute('ce-source'),
    subject: attribute('ce-subject'),
    time,
    data: data as Record<string, unknown>,
    ...(typeof traceparent === 'string' ? { traceparent } : {}),
  };
}
