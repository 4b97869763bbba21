/**
 * @module cli/new
 * `wafer new <lang> <name> [--world http]`: scaffolds a function folder from the SDK's template
 * (sdk/<lang>/template/), or with `--world http` a standard wasi:http/proxy function from
 * sdk/<lang>/template-http/ (ts, rust, python; Go cannot target that world, see GO_HTTP_REFUSAL).
 */
import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { NAME_PATTERN } from '../functions/service.js';
import { UsageError } from './exit.js';
import { GO_HTTP_REFUSAL, parseLanguage, sdkDir, type Language } from './languages.js';

/** The worlds `--world` chooses: the wafer ABI, or a standard wasi:http/proxy component. */
const WORLDS = ['wafer', 'http'] as const;
type World = (typeof WORLDS)[number];

/** The template folder of a language and world. */
function templateDir(lang: Language, world: World): string {
  if (world === 'http' && lang === 'go') throw new UsageError(GO_HTTP_REFUSAL);
  return join(sdkDir(lang), world === 'http' ? 'template-http' : 'template');
}

export function registerNew(program: Command): void {
  program
    .command('new')
    .description('scaffold a function from an SDK template')
    .argument('<lang>', 'ts, rust, go or python')
    .argument('<name>', 'function name (also the folder name): a-z, then up to 62 of a-z, 0-9, -')
    .option('--dir <dir>', 'where to create it (default ./<name>)')
    .option('--world <world>', 'wafer (default: the wafer ABI, with the SDK) or http (a standard wasi:http/proxy component: ts, rust or python)', 'wafer')
    .option('--json', 'print {name, lang, dir, files} as JSON')
    .action(async (langArg: string, name: string, flags: { dir?: string; world: string; json?: boolean }) => {
      const lang = parseLanguage(langArg);
      if (!(WORLDS as readonly string[]).includes(flags.world)) {
        throw new UsageError(`unknown world ${JSON.stringify(flags.world)}: choose wafer or http`);
      }
      const template = templateDir(lang, flags.world as World);
      if (!NAME_PATTERN.test(name)) {
        throw new UsageError(`invalid function name ${JSON.stringify(name)}: use a lower-case letter then up to 62 of a-z, 0-9 and -`);
      }
      const target = resolve(flags.dir ?? name);
      if (existsSync(target)) throw new UsageError(`${target} already exists; pick another name or --dir`);
      const sdk = sdkDir(lang);
      await cp(template, target, { recursive: true, errorOnExist: true });
      const files = await fill(target, { name, sdk_path: sdk });
      if (flags.json) {
        console.log(JSON.stringify({ name, lang, dir: target, files }, null, 2));
        return;
      }
      console.log(`created ${target} (${lang}${flags.world === 'http' ? ', wasi:http/proxy' : ''}, ${files} files)`);
      console.log(`next: npx wafer build ${flags.dir ?? name} && npx wafer deploy ${name} ${join(flags.dir ?? name, `${name}.wasm`)}`);
      const devName = basename(target) === name ? '' : ` --name ${name}`;
      console.log(`  or: npx wafer dev ${flags.dir ?? name}${devName}   (build, deploy and tail the log; again on every save)`);
    });
}

/** Replaces {{key}} placeholders in every file under `dir`; returns the number of files. */
async function fill(dir: string, values: Record<string, string>): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    if (!(await stat(path)).isFile()) continue;
    count += 1;
    const text = await readFile(path, 'utf8');
    const filled = text.replace(/\{\{(\w+)\}\}/g, (match, key: string) => values[key] ?? match);
    if (filled !== text) await writeFile(path, filled);
  }
  return count;
}
