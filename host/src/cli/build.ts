/**
 * @module cli/build
 * `wafer build [dir]`: detects the function's language and runs its SDK's build, which
 * produces the component.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from './client.js';
import { buildCommand, detectLanguage, parseLanguage } from './languages.js';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build the function in a folder into a component (detects Rust, Go, Python or TypeScript)')
    .argument('[dir]', 'the function folder', '.')
    .option('-o, --out <file>', 'where to write the component (default <dir>/<folder name>.wasm)')
    .option('--lang <lang>', 'skip detection: ts, rust, go or python')
    .action(async (dirArg: string, flags: { out?: string; lang?: string }) => {
      const dir = resolve(dirArg);
      const lang = flags.lang ? parseLanguage(flags.lang) : detectLanguage(dir);
      const out = resolve(flags.out ?? join(dir, `${basename(dir)}.wasm`));
      const { command, args } = buildCommand(lang, dir, out);
      process.stderr.write(`building ${dir} (${lang}) -> ${out}\n`);
      const started = Date.now();
      const code = await new Promise<number>((done) => {
        const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
        child.on('error', (err) => {
          process.stderr.write(`wafer: cannot run ${command}: ${err.message}\n`);
          done(127);
        });
        child.on('exit', (status) => done(status ?? 1));
      });
      if (code !== 0) throw new CliError(`the ${lang} build failed (exit ${code}); see its output above`);
      const { size } = await stat(out);
      console.log(`${out} ${size} bytes (${lang}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    });
}
