import { randomBytes } from 'node:crypto';
import type { Message } from 'kafkajs';
import {
  completeEvent,
  encodeEvent,
  HEADERS,
  mintEventId,
  type ActivityEvent,
  type ClientEvent,
} from '@activity-logger/shared';

/** The metadata every bench event carries: a realistic small object (~100 bytes as JSON). */
const METADATA = { page: '/products/42', device: 'mobile', referrer: 'search', experiment: 'b' };

export const USERS = 1000;

/** The i-th client event, as a client would POST it. */
export function clientEvent(i: number, action = 'Bench_Event'): ClientEvent {
  return { userId: `user-${i % USERS}`, action, metadata: { ...METADATA, i } };
}

/** The i-th event as the API would produce it, for the ceilings and for pre-filling a backlog. */
export function activityEvent(i: number, source: string, action = 'Bench_Event'): ActivityEvent {
  return completeEvent(clientEvent(i, action), {
    receivedAt: new Date(),
    traceId: randomBytes(16).toString('hex'),
    source,
    mintId: mintEventId,
  });
}

/** The Kafka message the API's publisher makes of an event (same key, value and headers). */
export function kafkaMessage(event: ActivityEvent): Message {
  return {
    key: event.userId,
    value: encodeEvent(event),
    headers: {
      [HEADERS.traceId]: event.traceId,
      [HEADERS.eventId]: event.eventId,
      [HEADERS.contentType]: 'application/json',
    },
  };
}
