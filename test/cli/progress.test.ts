/**
 * The CLI's progress line (host/src/cli/progress.ts): drawn only on a terminal and only once a
 * command has run for its delay; a byte bar for uploads, a spinner with the elapsed time for
 * waits; cleared when the command ends. Drawn into a stream that says it is a terminal; the
 * commands' own output without a terminal is checked in dev.test.ts.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress, renderBytes } from '../../host/src/cli/progress.js';

/** A stream that collects what is written; a terminal 100 columns wide if `tty`. */
function screen(tty: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY: tty, columns: 100 });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

/** Resolves once `check` holds, polling the event loop (the bar draws on its own timer). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((done) => setTimeout(done, 20));
}

describe('cli progress', () => {
  it('renders a byte step as label, bar, percent, done/total and rate', () => {
    expect(renderBytes('uploading', 3 * 1024 * 1024, 6 * 1024 * 1024, 2, '[==  ]')).toBe('uploading [==  ] 50% 3.0 MiB/6.0 MiB 1.5 MiB/s');
    expect(renderBytes('uploading', 0, 0, 0, '[]')).toBe('uploading [] 100% 0 B/0 B 0 B/s');
  });

  it('draws an upload bar, then a compiling spinner, on a terminal once the delay has passed, and clears it at the end', async () => {
    const { stream, text } = screen(true);
    const progress = new Progress(stream, 0);
    progress.bytes('uploading', 4096);
    progress.add(1024);
    await until(() => text().includes('25%'));
    expect(text()).toMatch(/uploading \S+ 25% 1\.0 KiB\/4\.0 KiB [\d.]+ (B|KiB|MiB)\/s/);
    progress.add(3072);
    progress.wait('compiling');
    await until(() => text().includes('compiling'));
    expect(text()).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] compiling \d+\.\d s/);
    progress.note('step 2 of 3');
    await until(() => text().includes('step 2 of 3'));
    // Other output (dev's log lines) first blanks the line; the next tick draws it again.
    progress.clear();
    expect(text().endsWith('\x1b[1G\x1b[2K')).toBe(true);
    const cleared = text().length;
    await until(() => text().slice(cleared).includes('step 2 of 3'));
    progress.stop();
    // After the last drawing: back to column 1 and clear the line, and no more text.
    const tail = text().slice(text().lastIndexOf('step 2 of 3') + 'step 2 of 3'.length);
    expect(tail).toContain('\x1b[1G\x1b[0K');
    expect(tail.replace(/\x1b(\[[?0-9;]*[A-Za-z]|[78])/g, '')).toBe('');
  });

  it('draws nothing before the delay: a quick command leaves no trace', async () => {
    const { stream, text } = screen(true);
    const progress = new Progress(stream, 60_000);
    progress.bytes('uploading', 10);
    progress.add(10);
    progress.wait('compiling');
    await new Promise((done) => setTimeout(done, 200));
    progress.stop();
    expect(text()).toBe('');
  });

  it('draws nothing when the stream is not a terminal (logs, CI, pipes)', async () => {
    const { stream, text } = screen(false);
    const progress = new Progress(stream, 0);
    progress.bytes('uploading', 10);
    progress.add(5);
    progress.wait('compiling');
    await new Promise((done) => setTimeout(done, 200));
    progress.stop();
    expect(text()).toBe('');
  });
});
