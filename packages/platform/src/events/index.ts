// How a service tells the others what happened (CONTRACT §6): the one place to read.
export { type CloudEvent, fromPushEnvelope, MalformedPush, toPubSubMessage } from './cloudevents.js';
export { type Evento, type OutboxTable, outboxTable, withEvent } from './outbox.js';
export { discardPublisher, localPushPublisher, type Publisher, pubSubPublisher } from './publishers.js';
export { type EventHandler, type GoogleCerts, pushAuth, registerPushEndpoint } from './push.js';
export { createRelay, type Relay, registerOutboxMetrics } from './relay.js';
