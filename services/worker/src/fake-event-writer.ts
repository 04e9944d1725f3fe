import type { ActivityEvent } from '@activity-logger/shared';
import { StoreUnavailableError } from './errors';
import type { EventWriter, WriteResult } from './event-writer';

/**
 * An in-memory EventWriter for unit tests of the batch logic only; the integration tests use
 * the real store. Keeps the first write of each eventId, refuses the ids it is told to refuse,
 * and can be made to fail whole writes to imitate an outage.
 */
export class FakeEventWriter implements EventWriter {
  readonly stored = new Map<string, ActivityEvent>();
  readonly rejectIds = new Map<string, { code: number; message: string }>();
  failuresToSimulate = 0;
  calls = 0;

  writeBatch(events: readonly ActivityEvent[]): Promise<WriteResult[]> {
    this.calls += 1;
    if (this.failuresToSimulate > 0) {
      this.failuresToSimulate -= 1;
      return Promise.reject(new StoreUnavailableError('simulated outage', new Error('connection reset')));
    }
    return Promise.resolve(
      events.map((event): WriteResult => {
        const rejection = this.rejectIds.get(event.eventId);
        if (rejection !== undefined) return { kind: 'rejected', ...rejection };
        if (this.stored.has(event.eventId)) return { kind: 'duplicate' };
        this.stored.set(event.eventId, event);
        return { kind: 'stored' };
      }),
    );
  }
}
