import type { ActivityEvent } from '@activity-logger/shared';
import type { EventPlacement } from '../ingest/publisher';

/**
 * Where a client asks what became of an event it sent: its receipt. The source makes it
 * unambiguous (eventIds are per key); the placement lets the receipt say how far along it is
 * while it is still pending. Without a placement the receipt still works, minus "pending".
 */
export function statusUrl(event: Pick<ActivityEvent, 'eventId' | 'source'>, placement?: EventPlacement): string {
  const query = new URLSearchParams();
  if (event.source !== undefined) query.set('source', event.source);
  if (placement !== undefined) query.set('at', `${placement.partition}:${placement.offset}`);
  const search = query.size === 0 ? '' : `?${query.toString().replaceAll('%3A', ':')}`;
  return `/api/logs/${encodeURIComponent(event.eventId)}/status${search}`;
}
