/**
 * @module cli/progress
 * What a long command is doing, on one redrawn line of stderr (cli-progress draws it): a byte
 * bar for an upload, a spinner with the elapsed time for a wait (the host compiling, a build).
 * Nothing is drawn unless stderr is a terminal and the command has run for a second, so quick
 * commands do not flicker and logs and CI get no escape codes.
 */
import { clearLine, cursorTo } from 'node:readline';
import cliProgress, { type Options, type Params, type SingleBar } from 'cli-progress';
import { formatBytes } from './table.js';

/** How long a command runs before its progress is drawn. */
export const PROGRESS_DELAY_MS = 1000;

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Where progress is drawn: process.stderr, or in tests any stream that says it is a terminal. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

interface Step {
  label: string;
  /** Bytes to move; undefined for a wait. */
  total?: number;
  value: number;
  note: string;
  started: number;
}

/** The progress line drawn now, if any: `printLine` clears it first. */
let drawn: Progress | undefined;

/**
 * Prints a line on stdout, first clearing a progress line drawn on the same terminal, so output
 * that arrives during a step (`dev` tailing the log while it rebuilds) does not run into it; the
 * progress line is drawn again below at its next tick.
 */
export function printLine(text: string): void {
  drawn?.clear();
  process.stdout.write(`${text}\n`);
}

/** One command's progress line; steps replace each other on it. */
export class Progress {
  private bar: SingleBar | undefined;
  private step: Step | undefined;
  private visible = false;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: ProgressStream = process.stderr,
    delayMs = PROGRESS_DELAY_MS,
  ) {
    if (!stream.isTTY) return;
    this.timer = setTimeout(() => {
      this.visible = true;
      this.draw();
    }, delayMs);
    this.timer.unref();
  }

  /** Starts a step that moves `total` bytes: `uploading ███░░ 60% 3.0 MiB/5.0 MiB 12.4 MiB/s`. */
  bytes(label: string, total: number): void {
    this.begin({ label, total, value: 0, note: '', started: Date.now() });
  }

  /** Starts a step measured only in time: `⠹ compiling 2.4 s`. */
  wait(label: string): void {
    this.begin({ label, value: 0, note: '', started: Date.now() });
  }

  /** Counts `n` more bytes moved in the current step. */
  add(n: number): void {
    if (!this.step) return;
    this.step.value += n;
    this.bar?.update(this.step.value);
  }

  /** A short note after the current step, such as the build's latest output line. */
  note(text: string): void {
    if (!this.step) return;
    this.step.note = text;
    this.bar?.update(this.step.value);
  }

  /** Clears the line; the command prints its outcome after. */
  stop(): void {
    clearTimeout(this.timer);
    this.visible = false;
    this.step = undefined;
    this.bar?.stop();
    this.bar = undefined;
    if (drawn === this) drawn = undefined;
  }

  /** Blanks the line for other output; the next tick draws it again. */
  clear(): void {
    cursorTo(this.stream, 0);
    clearLine(this.stream, 0);
  }

  private begin(step: Step): void {
    this.step = step;
    this.draw();
  }

  private draw(): void {
    this.bar?.stop();
    this.bar = undefined;
    if (!this.visible || !this.step) return;
    this.bar = new cliProgress.SingleBar({
      stream: this.stream as NodeJS.WritableStream,
      format: (options, params) => this.line(options, params),
      clearOnComplete: true,
      hideCursor: false,
      barsize: 24,
      fps: 10,
    });
    this.bar.start(this.step.total ?? 1, this.step.value);
    drawn = this;
  }

  private line(options: Options, params: Params): string {
    const step = this.step;
    if (!step) return '';
    const seconds = (Date.now() - step.started) / 1000;
    if (step.total === undefined) {
      const spin = SPINNER[Math.floor(seconds * 10) % SPINNER.length];
      return `${spin} ${step.label} ${seconds.toFixed(1)} s${step.note ? `  ${step.note}` : ''}`;
    }
    return renderBytes(step.label, step.value, step.total, seconds, cliProgress.Format.BarFormat(params.progress, options));
  }
}

/** The text of a byte step: label, bar, percent, done/total and rate. */
export function renderBytes(label: string, value: number, total: number, seconds: number, bar: string): string {
  const percent = total > 0 ? Math.floor((value / total) * 100) : 100;
  const rate = seconds > 0 ? value / seconds : 0;
  return `${label} ${bar} ${percent}% ${formatBytes(value)}/${formatBytes(total)} ${formatBytes(Math.round(rate))}/s`;
}
