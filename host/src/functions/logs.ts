/**
 * @module functions/logs
 * Each function's log: one entry per call that wrote to stdout or stderr or failed, with the
 * invocation id, version, outcome and the (already capped) output. Kept in the data directory as
 * append-only JSON-lines segments, `<data>/logs/<name>/<first seq>.jsonl`, capped in total bytes
 * per function: when a new segment starts and the cap is passed, the oldest segments go.
 *
 * Appends never wait for the disk: entries queue in memory and are written within
 * LOG_WRITE_DELAY_MS in one batch per function (a read writes them first); nothing is fsynced. A crash loses what was queued
 * or not yet flushed by the OS, and may tear the last line: reads skip a line that does not parse,
 * and a segment found without its final newline is never appended to again.
 *
 * `seq`, the cursor, is the entry's time in Unix microseconds, made strictly increasing per
 * function, so a cursor and a timestamp compare directly.
 */
import { EventEmitter } from 'node:events';
import { appendFile, mkdir, open, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_WRITE_DELAY_MS } from '../limits.js';
import type { Logger } from '../logger.js';
import type { CallRecord } from './call-record.js';

/** One entry as stored and served (snake_case, as the rest of the API). */
export interface LogEntry {
  seq: number;
  time: string;
  invocation_id: string;
  version: number;
  status: number;
  code: string;
  start?: string;
  duration_us: number;
  stdout?: string;
  stderr?: string;
}

export interface LogQuery {
  /** Entries with a larger `seq` (a cursor, or a time in µs minus one). Undefined: the newest. */
  after?: number;
  limit: number;
}

export interface LogPage {
  entries: LogEntry[];
  /** True when entries after the last one answered exist already. */
  more: boolean;
}

export interface LogStoreOptions {
  /** `<data>/logs`. */
  dir: string;
  /** Bytes kept on disk per function, all segments together. */
  maxBytes: number;
  /** Segments per `maxBytes`. */
  segments: number;
  logger: Logger;
}

interface Segment {
  file: string;
  first: number;
  bytes: number;
}

/** One function's writer state. */
interface Journal {
  segments: Segment[] | undefined;
  /** The last segment may be appended to (false after a torn last line). */
  appendable: boolean;
  queue: string[];
  queuedBytes: number;
  /** The write under way, if any. */
  writing: Promise<void> | undefined;
  /** The write scheduled to batch what arrives meanwhile, if any. */
  timer: NodeJS.Timeout | undefined;
  lastSeq: number;
}

const SEGMENT = /^(\d{1,16})\.jsonl$/;
const decoder = new TextDecoder('utf-8');

/** The entry a call leaves in its function's log, or undefined when it leaves none (an ok call that wrote nothing). */
export function entryOf(record: CallRecord, seq: number): LogEntry | undefined {
  const stdout = record.stdout && record.stdout.length > 0 ? decoder.decode(record.stdout) : undefined;
  const stderr = record.stderr && record.stderr.length > 0 ? decoder.decode(record.stderr) : undefined;
  if (stdout === undefined && stderr === undefined && record.code === 'ok') return undefined;
  const entry: LogEntry = {
    seq,
    time: new Date(Math.floor(seq / 1000)).toISOString(),
    invocation_id: record.invocationId,
    version: record.version,
    status: record.status,
    code: record.code,
    duration_us: Math.round(record.durationUs),
  };
  if (record.start) entry.start = record.start;
  if (stdout !== undefined) entry.stdout = stdout;
  if (stderr !== undefined) entry.stderr = stderr;
  return entry;
}

export class LogStore {
  private readonly journals = new Map<string, Journal>();
  private readonly events = new EventEmitter();
  private readonly segmentBytes: number;

  constructor(private readonly options: LogStoreOptions) {
    this.segmentBytes = Math.max(1024, Math.floor(options.maxBytes / options.segments));
    this.events.setMaxListeners(0);
  }

  /** Queues the entry `record` leaves (if any) and tells followers; never waits for the disk. */
  append(record: CallRecord): void {
    const journal = this.journal(record.name);
    const seq = Math.max(journal.lastSeq + 1, Date.now() * 1000);
    const entry = entryOf(record, seq);
    if (!entry) return;
    journal.lastSeq = seq;
    const line = `${JSON.stringify(entry)}\n`;
    journal.queue.push(line);
    journal.queuedBytes += line.length;
    // A disk slower than the calls: the queue is bounded like the disk, oldest dropped first.
    while (journal.queuedBytes > this.options.maxBytes && journal.queue.length > 1) journal.queuedBytes -= journal.queue.shift()!.length;
    this.events.emit(record.name, entry);
    this.schedule(record.name, journal);
  }

  /** Entries of `name` after `query.after` (oldest first), or its newest `limit` entries. */
  async read(name: string, query: LogQuery): Promise<LogPage> {
    const journal = this.journal(name);
    await this.settle(name, journal);
    const segments = await this.segmentsOf(name, journal);
    let start = 0;
    if (query.after !== undefined) {
      // Skip segments that end before the cursor: the next one starts at or before it.
      while (start + 1 < segments.length && segments[start + 1]!.first <= query.after) start++;
    }
    const entries: LogEntry[] = [];
    for (const segment of segments.slice(start)) {
      let text: string;
      try {
        text = await readFile(join(this.dirOf(name), segment.file), 'utf8');
      } catch {
        continue; // rotated away meanwhile
      }
      for (const line of text.split('\n')) {
        if (line.length === 0) continue;
        let entry: LogEntry;
        try {
          entry = JSON.parse(line) as LogEntry;
        } catch {
          continue; // a line torn by a crash
        }
        if (typeof entry?.seq !== 'number') continue;
        if (query.after !== undefined && entry.seq <= query.after) continue;
        entries.push(entry);
        if (query.after !== undefined && entries.length > query.limit) return { entries: entries.slice(0, query.limit), more: true };
      }
    }
    if (query.after !== undefined) return { entries, more: false };
    return { entries: entries.slice(-query.limit), more: false };
  }

  /** Calls `listener` with each new entry of `name` until the returned function is called. */
  follow(name: string, listener: (entry: LogEntry | null) => void): () => void {
    this.events.on(name, listener);
    return () => this.events.off(name, listener);
  }

  /** Removes `name`'s log; followers get `null` (the end). */
  async remove(name: string): Promise<void> {
    const journal = this.journals.get(name);
    if (journal) {
      clearTimeout(journal.timer);
      journal.queue = [];
      journal.queuedBytes = 0;
      await journal.writing;
    }
    this.journals.delete(name);
    this.events.emit(name, null);
    await rm(this.dirOf(name), { recursive: true, force: true });
  }

  /** Writes everything queued (at close). */
  async flush(): Promise<void> {
    await Promise.all([...this.journals].map(([name, journal]) => this.settle(name, journal)));
  }

  private journal(name: string): Journal {
    let journal = this.journals.get(name);
    if (!journal) {
      journal = { segments: undefined, appendable: true, queue: [], queuedBytes: 0, writing: undefined, timer: undefined, lastSeq: 0 };
      this.journals.set(name, journal);
    }
    return journal;
  }

  private dirOf(name: string): string {
    return join(this.options.dir, name);
  }

  /** Resolves once nothing is queued or being written for `name`. */
  private async settle(name: string, journal: Journal): Promise<void> {
    clearTimeout(journal.timer);
    journal.timer = undefined;
    while (journal.writing || journal.queue.length > 0) {
      this.drain(name, journal);
      await journal.writing;
    }
  }

  /** Writes what is queued within LOG_WRITE_DELAY_MS, so a busy function's entries go to disk in batches, not one write per call. */
  private schedule(name: string, journal: Journal): void {
    if (journal.timer || journal.writing) return;
    journal.timer = setTimeout(() => {
      journal.timer = undefined;
      this.drain(name, journal);
    }, LOG_WRITE_DELAY_MS);
    journal.timer.unref();
  }

  private drain(name: string, journal: Journal): void {
    if (journal.writing || journal.queue.length === 0) return;
    journal.writing = this.write(name, journal)
      .catch((err: unknown) => this.options.logger.warn({ fn: name, err }, 'could not write the function log; entries were dropped'))
      .finally(() => {
        journal.writing = undefined;
        if (journal.queue.length > 0 && this.journals.get(name) === journal) this.schedule(name, journal);
      });
  }

  /** Appends the queued lines, starting a segment when the last is full (or torn), then drops segments past the cap. */
  private async write(name: string, journal: Journal): Promise<void> {
    const segments = await this.segmentsOf(name, journal);
    const lines = journal.queue;
    journal.queue = [];
    journal.queuedBytes = 0;
    if (this.journals.get(name) !== journal) return; // removed meanwhile
    const batch = lines.join('');
    const bytes = Buffer.byteLength(batch);
    let last = segments[segments.length - 1];
    if (!last || !journal.appendable || last.bytes + bytes > this.segmentBytes) {
      const first = (JSON.parse(lines[0]!) as LogEntry).seq;
      last = { file: `${String(first).padStart(16, '0')}.jsonl`, first, bytes: 0 };
      segments.push(last);
      journal.appendable = true;
      await mkdir(this.dirOf(name), { recursive: true });
    }
    await appendFile(join(this.dirOf(name), last.file), batch);
    last.bytes += bytes;
    let total = segments.reduce((n, s) => n + s.bytes, 0);
    while (total > this.options.maxBytes && segments.length > 1) {
      const oldest = segments.shift()!;
      total -= oldest.bytes;
      await unlink(join(this.dirOf(name), oldest.file)).catch(() => undefined);
    }
  }

  /** The segments on disk, oldest first, read once per function; a torn last segment is closed to appends. */
  private async segmentsOf(name: string, journal: Journal): Promise<Segment[]> {
    if (journal.segments) return journal.segments;
    const dir = this.dirOf(name);
    const files = await readdir(dir).catch(() => [] as string[]);
    const segments: Segment[] = [];
    for (const file of files.sort()) {
      const match = SEGMENT.exec(file);
      if (!match) continue;
      const size = await stat(join(dir, file)).then((s) => s.size, () => -1);
      if (size >= 0) segments.push({ file, first: Number(match[1]), bytes: size });
    }
    const last = segments[segments.length - 1];
    if (last && last.bytes > 0) {
      const handle = await open(join(dir, last.file), 'r');
      try {
        const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, last.bytes - 1);
        journal.appendable = buffer[0] === 0x0a;
      } finally {
        await handle.close();
      }
    }
    journal.segments ??= segments;
    return journal.segments;
  }
}
