import { formatTime } from './dom';

/** How far behind "now" the watermark may be and still read as fresh (the worker's idle check). */
const FRESH_MS = 10_000;

/** Seconds, minutes or hours, short. */
export function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  return `${Math.round(minutes / 60)} h`;
}

/**
 * The freshness watermark: up to when every accepted event is stored (or dead-lettered), from the
 * latest answer or stream message that said so. An empty page newer than it reads as "not yet",
 * not "nothing happened".
 */
export class Watermark {
  /** undefined: no answer has said yet; null: the API says it does not know (yet). */
  private value: string | null | undefined;

  constructor(private readonly target: HTMLElement) {
    setInterval(() => this.render(), 1000);
  }

  update(value: string | null): void {
    // Answers can arrive out of order; the watermark only moves forward.
    if (value !== null && typeof this.value === 'string' && new Date(value) < new Date(this.value)) return;
    this.value = value;
    this.render();
  }

  current(): string | null | undefined {
    return this.value;
  }

  private render(): void {
    const { target, value } = this;
    if (value === undefined) {
      target.textContent = 'Freshness: not known yet';
      target.dataset.state = 'unknown';
      return;
    }
    if (value === null) {
      target.textContent = 'Freshness: not known (a partition has not been caught up yet)';
      target.dataset.state = 'behind';
      return;
    }
    const behind = Date.now() - new Date(value).getTime();
    target.replaceChildren(
      'Complete through ',
      Object.assign(document.createElement('time'), { dateTime: value, textContent: formatTime(value), title: value }),
      ` (${age(behind)} ago)`,
    );
    target.dataset.state = behind <= FRESH_MS ? 'fresh' : 'behind';
  }
}
