/**
 * Progress of long commands on stderr: on a terminal one line redrawn in place (a bar when the
 * total is known), elsewhere (CI logs, pipes) a plain line every few seconds once a task has run
 * that long. No dependency: a
 * dozen lines do what a progress library would, without its transitive packages.
 */

/** Where progress goes: stderr, which may or may not be a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** What is counted (`entries`, `documents`); none for bytes. */
  unit?: string;
  /** How counts are shown (default 1,234; `formatBytes` for bytes). */
  format?: (value: number) => string;
  /** How many there will be, when known. */
  total?: number;
  /** Plain lines at most this often when not on a terminal (default 2,000 ms). */
  plainIntervalMs?: number;
}

/** Redraws on a terminal at most this often. */
const TTY_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

/** One progress line for one task. */
export class Progress {
  private readonly tty: boolean;
  private readonly started = Date.now();
  private readonly plainIntervalMs: number;
  private lastDraw = 0;
  private done = 0;
  private detail = '';
  private drawn = false;
  private total: number | undefined;

  constructor(
    private readonly out: ProgressStream,
    private readonly label: string,
    private readonly options: ProgressOptions,
  ) {
    this.tty = out.isTTY === true;
    this.total = options.total;
    this.plainIntervalMs = options.plainIntervalMs ?? 2000;
  }

  /** Sets the count so far (and a short note such as the current document); redraws when due. */
  update(done: number, detail = this.detail): void {
    this.done = done;
    this.detail = detail;
    const now = Date.now();
    // A terminal shows the first update at once; a log gets a line only once a task has run for
    // an interval, so short tasks leave no noise in it.
    const interval = this.tty ? TTY_INTERVAL_MS : this.plainIntervalMs;
    const last = this.lastDraw === 0 ? (this.tty ? 0 : this.started) : this.lastDraw;
    if (now - last < interval) return;
    this.lastDraw = now;
    this.draw();
  }

  /** Changes the expected total. */
  setTotal(total: number | undefined): void {
    this.total = total;
  }

  /** Ends the task: clears the line on a terminal (the caller prints the outcome). */
  finish(): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(): void {
    const elapsed = formatElapsed(Date.now() - this.started);
    const format = this.options.format ?? formatCount;
    const unit = this.options.unit === undefined ? '' : ` ${this.options.unit}`;
    const count =
      this.total === undefined
        ? `${format(this.done)}${unit}`
        : `${format(this.done)}/${format(this.total)}${unit}`;
    const fraction =
      this.total === undefined || this.total <= 0 ? undefined : Math.min(1, this.done / this.total);
    const percent = fraction === undefined ? '' : `${Math.floor(fraction * 100)}% `;
    if (!this.tty) {
      this.out.write(
        `${this.label}: ${percent}${count}${this.detail ? ` ${this.detail}` : ''} (${elapsed})\n`,
      );
      return;
    }
    const filled = fraction === undefined ? 0 : Math.round(fraction * BAR_WIDTH);
    const bar = fraction === undefined ? '' : `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] `;
    let line = `${this.label} ${bar}${percent}${count} ${elapsed}${this.detail ? `  ${this.detail}` : ''}`;
    const width = (this.out.columns || 80) - 1;
    if (line.length > width) line = `${line.slice(0, Math.max(0, width - 1))}…`;
    this.out.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }
}

/** 1,234,567 */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** 1.5 MB (powers of 1000, as disks are sold and `ls -h --si` prints). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${unit}`;
}

/** 0:07, 12:30, 1:02:03 */
export function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
