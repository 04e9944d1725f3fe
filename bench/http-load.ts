import autocannon from 'autocannon';

/** What one HTTP load run measured. */
export interface HttpLoad {
  readonly requestsPerSecond: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
  /** Connection errors and timeouts, and answers other than 2xx. */
  readonly errors: number;
  readonly non2xx: number;
  readonly ok: number;
  readonly seconds: number;
}

export interface HttpLoadOptions {
  readonly url: string;
  readonly body: string;
  readonly headers?: Record<string, string>;
  readonly connections: number;
  readonly seconds: number;
  /** Requests per second over all connections; unset for as fast as the server answers. */
  readonly rate?: number;
  /** Called about once a second with the requests answered so far. */
  readonly onTick?: (answered: number) => void;
}

/**
 * POSTs one body over keep-alive connections with autocannon (pipelining 1, as browsers and
 * SDKs do). Every load in the bench, ceiling or project, goes through here with the same client.
 */
export async function postLoad(options: HttpLoadOptions): Promise<HttpLoad> {
  let answered = 0;
  let finish: (error: unknown, result: autocannon.Result) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (error, result) =>
      error
        ? reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }))
        : resolve(result);
  });
  const instance = autocannon(
    {
      url: options.url,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: options.body,
      connections: options.connections,
      duration: options.seconds,
      ...(options.rate === undefined ? {} : { overallRate: options.rate }),
    },
    (error, result) => finish(error, result),
  );
  instance.on('response', () => (answered += 1));
  const ticker = setInterval(() => options.onTick?.(answered), 1000);
  try {
    const result = await done;
    return {
      // Only 2xx count: an error answered fast must not look like throughput.
      requestsPerSecond: result['2xx'] / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      ok: result['2xx'],
      seconds: result.duration,
    };
  } finally {
    clearInterval(ticker);
  }
}
