#!/usr/bin/env node
// Builds test/fixtures/*.wat into test/fixtures/dist/*.wasm with jco's `parse`.
// Idempotent: a fixture is rebuilt only when its source is newer than its output.
import { mkdir, readdir, readFile, stat, writeFile, rename } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@bytecodealliance/jco';
import { ALLOC, LIFT } from '../test/fixtures/kit.mjs';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');
const out = join(dir, 'dist');

async function mtime(path) {
  try { return (await stat(path)).mtimeMs; } catch { return -1; }
}

await mkdir(out, { recursive: true });
const self = Math.max(await mtime(fileURLToPath(import.meta.url)), await mtime(join(dir, 'kit.mjs')));
for (const file of (await readdir(dir)).filter((f) => f.endsWith('.wat')).sort()) {
  const target = join(out, file.replace(/\.wat$/, '.wasm'));
  const built = await mtime(target);
  if (built > (await mtime(join(dir, file))) && built > self) continue;
  const text = (await readFile(join(dir, file), 'utf8')).replace('{{ALLOC}}', ALLOC).replace('{{LIFT}}', LIFT);
  let bytes;
  try {
    bytes = await parse(text);
  } catch (err) {
    console.error(`build-fixtures: ${file}: ${err?.message ?? err}`);
    process.exit(1);
  }
  await writeFile(`${target}.tmp`, bytes);
  await rename(`${target}.tmp`, target);
  console.log(`fixture ${file} -> ${target} (${bytes.length} B)`);
}
