import { ApiError } from './api-client';
import type { StoredEvent } from './contract';
import { startLiveTail, type TailState } from './live-tail';

const encoder = new TextEncoder();

/** A response whose body is these chunks, then its end (or never, when `hold`). */
function streamOf(chunks: readonly string[], hold = false): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (!hold) controller.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

const event = (eventId: string): StoredEvent => ({
  eventId,
  userId: 'u',
  action: 'a',
  timestamp: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:00.000Z',
  traceId: 't',
});

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('live tail', () => {
  it('reads events split across chunks and resumes after the last id when the stream ends', async () => {
    const asked: (string | undefined)[] = [];
    const seen: string[] = [];
    const watermarks: (string | null)[] = [];
    const connections = [
      // An event cut in the middle of a line, CRLF line ends, a heartbeat and a watermark.
      [
        ': hi\r\n\r\nevent: log\r\nid: 0:5',
        `\r\ndata: ${JSON.stringify(event('one'))}\r\n\r\n`,
        'event: watermark\r\n',
      ],
      ['data: {"completeThrough":"2026-01-01T00:00:01.000Z"}\r\n\r\n'],
      [`event: log\nid: 0:6\ndata: ${JSON.stringify(event('two'))}\n\n`],
    ];
    const tail = startLiveTail({
      open: (lastEventId) => {
        asked.push(lastEventId);
        // The first connection's chunks, then a second one that carries the rest.
        if (asked.length === 1) return Promise.resolve(streamOf([...connections[0]!, ...connections[1]!]));
        return Promise.resolve(streamOf(connections[2]!, true));
      },
      onLog: (stored) => seen.push(stored.eventId),
      onWatermark: (value) => watermarks.push(value),
      onState: () => undefined,
      maxBackoffMs: 10,
    });
    await until(() => seen.length === 2);
    tail.stop();
    expect(seen).toEqual(['one', 'two']);
    expect(asked).toEqual([undefined, '0:5']);
    expect(watermarks).toEqual(['2026-01-01T00:00:01.000Z']);
    expect(tail.lastEventId()).toBe('0:6');
  });

  it('stops for a refusal that another try cannot fix, and retries one that can be', async () => {
    const states: TailState[] = [];
    let calls = 0;
    const tail = startLiveTail({
      open: () => {
        calls += 1;
        const status = calls === 1 ? 503 : 403;
        return Promise.reject(new ApiError(status, status === 503 ? 'UNAVAILABLE' : 'FORBIDDEN', 'no'));
      },
      onLog: () => undefined,
      onWatermark: () => undefined,
      onState: (state) => states.push(state),
      maxBackoffMs: 10,
    });
    await until(() => states.some((state) => state.kind === 'failed'));
    tail.stop();
    expect(calls).toBe(2);
    expect(states.map((state) => state.kind)).toEqual(['connecting', 'waiting', 'connecting', 'failed']);
  });

  it('reconnects when a connection goes silent (no heartbeat), as a half-open network does', async () => {
    let calls = 0;
    const states: TailState[] = [];
    const tail = startLiveTail({
      open: () => {
        calls += 1;
        return Promise.resolve(streamOf([': heartbeat\n\n'], true));
      },
      onLog: () => undefined,
      onWatermark: () => undefined,
      onState: (state) => states.push(state),
      silenceMs: 50,
      maxBackoffMs: 10,
    });
    await until(() => calls >= 2);
    tail.stop();
    await until(() => states.at(-1)?.kind === 'stopped');
    expect(states.some((state) => state.kind === 'waiting' && state.reason.includes('no data'))).toBe(true);
  });
});
