import type { ErrorBody } from './contract';

/** A refusal or failure, said in the API's own words (its code and message). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** One line for the page: the message, then each detail. */
  describe(): string {
    const details = this.details.map((detail) => `${detail.path}: ${detail.message}`);
    return [`${this.message} (${this.status} ${this.code})`, ...details].join(' — ');
  }
}

/** Any failure in words for the page: the API's own when it gave them. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.describe();
  return error instanceof Error ? error.message : String(error);
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** The key to send, read at each call (the user may change it at any time). */
  readonly key: () => string | undefined;
  /** Every answer's freshness watermark (body `completeThrough` or `X-Complete-Through`). */
  readonly onCompleteThrough: (value: string | null) => void;
  readonly fetch?: Fetch;
}

export interface ApiClient {
  get<T>(path: string, query?: URLSearchParams): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  /** Opens a response to read as a stream (the live tail); refusals are thrown as ApiError. */
  open(path: string, query: URLSearchParams, headers: Record<string, string>, signal: AbortSignal): Promise<Response>;
}

export function withQuery(path: string, query?: URLSearchParams): string {
  const search = query?.toString() ?? '';
  return search === '' ? path : `${path}?${search}`;
}

async function refusal(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as ErrorBody;
  const error = body.error ?? {};
  return new ApiError(
    res.status,
    error.code ?? `HTTP_${res.status}`,
    error.message ?? (res.statusText || 'The API refused the request.'),
    error.details ?? [],
  );
}

/** The watermark an answer carries: the body's field when present, else the header. */
export function completeThroughOf(res: Response, body: unknown): string | null | undefined {
  if (body !== null && typeof body === 'object' && 'completeThrough' in body) {
    const value: unknown = body.completeThrough;
    if (value === null || typeof value === 'string') return value;
  }
  const header = res.headers.get('x-complete-through');
  if (header === null) return undefined;
  return header === '' || header === 'null' ? null : header;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const send: Fetch = options.fetch ?? ((input, init) => fetch(input, init));

  function headers(extra: Record<string, string> = {}): Record<string, string> {
    const key = options.key();
    if (key === undefined) throw new ApiError(401, 'NO_KEY', 'Enter an API key first.');
    return { Authorization: `Bearer ${key}`, Accept: 'application/json', ...extra };
  }

  async function answer<T>(res: Response): Promise<T> {
    if (!res.ok) throw await refusal(res);
    const body = (await res.json()) as T;
    const watermark = completeThroughOf(res, body);
    if (watermark !== undefined) options.onCompleteThrough(watermark);
    return body;
  }

  return {
    async get(path, query) {
      return answer(await send(withQuery(path, query), { headers: headers(), cache: 'no-store' }));
    },
    async post(path, body) {
      const res = await send(path, {
        method: 'POST',
        headers: headers({ 'Content-Type': 'application/json' }),
        body: JSON.stringify(body),
      });
      return answer(res);
    },
    async open(path, query, extra, signal) {
      const res = await send(withQuery(path, query), {
        headers: headers({ Accept: 'text/event-stream', ...extra }),
        cache: 'no-store',
        signal,
      });
      if (!res.ok) throw await refusal(res);
      const watermark = completeThroughOf(res, undefined);
      if (watermark !== undefined) options.onCompleteThrough(watermark);
      return res;
    },
  };
}
