/**
 * @module cli/interrupt
 * Ctrl-C for the commands that run until interrupted (`logs --follow`, `dev`): the first SIGINT
 * aborts their signal so they close what they opened and return, and wafer exits with 130; a
 * second one exits at once.
 */
import { EXIT } from './exit.js';

/** A signal aborted by the next SIGINT. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.exitCode = EXIT.interrupted;
    controller.abort();
    process.once('SIGINT', () => process.exit(EXIT.interrupted));
  });
  return controller.signal;
}
