/**
 * One progress line on stderr: rewritten in place on a terminal, a line every few seconds
 * otherwise (CI logs), so a long run shows it is moving without flooding the log.
 */
export class Progress {
  private lastWrite = 0;
  private readonly tty = process.stderr.isTTY;

  constructor(private readonly startedAt = Date.now()) {}

  update(text: string, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastWrite < (this.tty ? 250 : 5000)) return;
    this.lastWrite = now;
    const line = `[bench ${((now - this.startedAt) / 1000).toFixed(0).padStart(4)} s] ${text}`;
    process.stderr.write(this.tty ? `\r\x1b[K${line}` : `${line}\n`);
  }

  /** A step's start or end: always written, on a line of its own. */
  step(text: string): void {
    this.update(text, true);
    if (this.tty) process.stderr.write('\n');
  }
}
