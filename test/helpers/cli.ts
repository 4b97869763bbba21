/**
 * Test helpers for the CLI: `wafer` run as a user runs it, a real `node bin/wafer.js` child
 * process, resolving with its exit code and output whether it succeeded or not.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../host/src/paths.js';

export const WAFER = join(ROOT, 'bin', 'wafer.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `wafer ...args` with `env` added to this process's environment. */
export function wafer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [WAFER, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number) : 0;
      resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}
