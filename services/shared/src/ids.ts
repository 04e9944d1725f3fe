import { uuidv7 } from 'uuidv7';

/**
 * Mints an event id: a UUIDv7 (RFC 9562), from the `uuidv7` package, whose generator is monotonic
 * within the process — ids minted in the same millisecond still increase. The events of one request
 * share their receivedAt (and so their default timestamp), and `(timestamp, eventId)` order is then
 * exactly the order in which they were sent. Time-ordered ids also keep the store's `_id` index
 * append-mostly.
 */
export function mintEventId(): string {
  return uuidv7();
}
