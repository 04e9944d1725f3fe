import { storeKey, type ActivityEvent, type Placement } from '@activity-logger/shared';
import { StoreUnavailableError } from './errors';
import type { EventWriter, WriteResult } from './event-writer';

/**
 * An in-memory EventWriter for unit tests of the batch logic only; the integration tests use
 * the real store. Keeps the first write of each store key (eventId within its source), refuses the ids it is told to refuse,
 * and can be made to fail whole writes to imitate an outage.
 */
export class FakeEventWriter implements EventWriter {
  /** By store key: the bare eventId for events without a source, as in the real store. */
  readonly stored = new Map<string, ActivityEvent>();
  /** Where each stored event was read from, by store key. */
  readonly placements = new Map<string, Placement>();
  readonly rejectIds = new Map<string, { code: number; message: string }>();
  failuresToSimulate = 0;
  calls = 0;

  writeBatch(events: readonly ActivityEvent[], placements?: readonly Placement[]): Promise<WriteResult[]> {
    this.calls += 1;
    if (this.failuresToSimulate > 0) {
      this.failuresToSimulate -= 1;
      return Promise.reject(new StoreUnavailableError('simulated outage', new Error('connection reset')));
    }
    return Promise.resolve(
      events.map((event, index): WriteResult => {
        const rejection = this.rejectIds.get(event.eventId);
        if (rejection !== undefined) return { kind: 'rejected', ...rejection };
        const key = storeKey(event.source, event.eventId);
        if (this.stored.has(key)) return { kind: 'duplicate' };
        this.stored.set(key, event);
        const placement = placements?.[index];
        if (placement !== undefined) this.placements.set(key, placement);
        return { kind: 'stored' };
      }),
    );
  }
}
