/**
 * @module logger
 * The logger type passed down everywhere (pino's), and the one place that creates it.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug'>;

/** A JSON-lines logger to stderr, so stdout stays free for command output. */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}

/** A logger that drops everything, for tests and tools. */
export const silentLogger: Logger = pino({ level: 'silent' });
