#!/usr/bin/env node
// Builds test/fixtures/*.wat into test/fixtures/dist/*.wasm with jco's `parse`.
// Idempotent: a fixture is rebuilt only when its source is newer than its output.
import { mkdir, readdir, readFile, stat, writeFile, rename } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@bytecodealliance/jco';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');
const out = join(dir, 'dist');

// A memory, a bump allocator reset after each call, and the writer of ok(ptr, len) at address 16.
const ALLOC = `
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "cabi_realloc") (param i32 i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32) (local $end i32)
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $p) (local.get $size)))
      (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
        (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (local.get $end) (i32.const 16)) (i32.const 1))) (i32.const -1))
          (then (unreachable)))))
      (global.set $bump (local.get $end))
      (local.get $p))
    (func (export "cabi_post_handle") (param i32) (global.set $bump (i32.const 4096)))
    (func $ok (param $ptr i32) (param $len i32) (result i32)
      (i32.store8 (i32.const 16) (i32.const 0))
      (i32.store (i32.const 20) (local.get $ptr))
      (i32.store (i32.const 24) (local.get $len))
      (i32.const 16))`;

const LIFT = `
  (core instance $i (instantiate $m))
  (func (export "handle") (param "request" (list u8)) (result (result (list u8) (error string)))
    (canon lift (core func $i "handle") (memory (core memory $i "memory"))
      (realloc (core func $i "cabi_realloc")) (post-return (core func $i "cabi_post_handle"))))`;

async function mtime(path) {
  try { return (await stat(path)).mtimeMs; } catch { return -1; }
}

await mkdir(out, { recursive: true });
const self = await mtime(fileURLToPath(import.meta.url));
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
