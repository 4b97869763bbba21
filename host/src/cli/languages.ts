/**
 * @module cli/languages
 * The guest languages `wafer new` and `wafer build` know: how to recognise a function's
 * folder, where its SDK and template live, and which build script makes its component.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths.js';
import { CliError, UsageError } from './exit.js';

export type Language = 'ts' | 'rust' | 'go' | 'python';

const ALIASES: Record<string, Language> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'ts',
  rust: 'rust',
  rs: 'rust',
  go: 'go',
  golang: 'go',
  python: 'python',
  py: 'python',
};

/** Why `--world http` is refused for Go (docs/go.md says the same). */
export const GO_HTTP_REFUSAL =
  'Go cannot target the wasi:http world here: standard Go compiles to wasip1 core modules, and a wasi:http component ' +
  'needs component-model bindings of wasi:http (its resources, streams and variants) that no standard-Go toolchain generates ' +
  '(wit-bindgen-go targets TinyGo, which this repository does not use); write it in ts, rust or python, or use the wafer ABI ' +
  '(wafer new go <name>); docs/go.md has the details';

/** The file that marks a function folder as a standard wasi:http/proxy function (the SDK builds read it). */
export const WORLD_MARKER = 'wafer.world';

/** The SDK folder of a language. */
export function sdkDir(lang: Language): string {
  return join(ROOT, 'sdk', lang === 'ts' ? 'typescript' : lang);
}

/** Normalises a language name or alias; throws a CliError naming the choices. */
export function parseLanguage(name: string): Language {
  const lang = ALIASES[name.toLowerCase()];
  if (!lang) throw new UsageError(`unknown language ${JSON.stringify(name)}: choose ts, rust, go or python`);
  return lang;
}

/** Recognises a function folder by its marker file. */
export function detectLanguage(dir: string): Language {
  if (existsSync(join(dir, 'Cargo.toml'))) return 'rust';
  if (existsSync(join(dir, 'go.mod'))) return 'go';
  if (existsSync(join(dir, 'app.py'))) return 'python';
  if (existsSync(join(dir, 'handler.ts')) || existsSync(join(dir, 'handler.js'))) return 'ts';
  throw new UsageError(
    `cannot tell the language of ${dir}: expected Cargo.toml (Rust), go.mod (Go), app.py (Python) or handler.ts (TypeScript)`,
  );
}

/** The command that builds the function in `dir` into `out`. */
export function buildCommand(lang: Language, dir: string, out: string): { command: string; args: string[] } {
  switch (lang) {
    case 'ts': {
      const entry = existsSync(join(dir, 'handler.ts')) ? join(dir, 'handler.ts') : join(dir, 'handler.js');
      return { command: process.execPath, args: [join(sdkDir('ts'), 'build.mjs'), entry, out] };
    }
    case 'rust':
      return { command: 'bash', args: [join(sdkDir('rust'), 'build.sh'), dir, out] };
    case 'go':
      if (existsSync(join(dir, WORLD_MARKER))) throw new UsageError(GO_HTTP_REFUSAL);
      return { command: process.execPath, args: [join(sdkDir('go'), 'build.mjs'), dir, out] };
    case 'python':
      return { command: 'bash', args: [join(sdkDir('python'), 'build.sh'), dir, out] };
    default: {
      const unknown: never = lang;
      throw new CliError(`unknown language ${String(unknown)}`);
    }
  }
}
