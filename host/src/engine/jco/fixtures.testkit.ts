/**
 * @module engine/jco/fixtures.testkit
 * Test support: tiny hand-written components (component text format, built with jco's `parse`)
 * that echo, count, loop, trap, grow memory, return `err`, print, or break the ABI. Each is a
 * few hundred bytes, so the engine's tests cost milliseconds per guest instead of the seconds a
 * real JavaScript guest needs. Not used by the host itself.
 */
import { createHash } from 'node:crypto';
import { parse } from '@bytecodealliance/jco';
import type { LoadUnit } from '../engine.js';

/** A core module with a memory and a bump allocator that `reset` (the post-return) rewinds. */
const ALLOCATOR = `
    (global $bump (mut i32) (i32.const 1024))
    (func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32) (local $end i32)
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
      (local.set $end (i32.add (local.get $p) (local.get 3)))
      (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
        (then (if (i32.eq (memory.grow (i32.sub (i32.add (i32.shr_u (local.get $end) (i32.const 16)) (i32.const 1)) (memory.size)))
                          (i32.const -1))
          (then unreachable))))
      (global.set $bump (local.get $end))
      (local.get $p))
    (func (export "reset") (param i32) (global.set $bump (i32.const 1024)))`;

/** Writes ok(list) or err(string) of (ptr, len) at the return area 16 and returns it. */
const RETURN = (tag: 0 | 1, ptr: string, len: string) => `
      (i32.store8 (i32.const 16) (i32.const ${tag}))
      (i32.store (i32.const 20) ${ptr})
      (i32.store (i32.const 24) ${len})
      (i32.const 16)`;

const LIFT = `(canon lift (core func $i "handle") (memory (core memory $i "memory"))
      (realloc (core func $i "cabi_realloc")) (post-return (core func $i "reset")))`;

/** A component whose `handle` runs `body` (params $p $l), with extra module fields. */
const simple = (body: string, fields = '', memory = '(memory (export "memory") 1)') => `
(component
  (core module $m
    ${memory}
    ${ALLOCATOR}
    ${fields}
    (func (export "handle") (param $p i32) (param $l i32) (result i32)
      ${body}))
  (core instance $i (instantiate $m))
  (func (export "handle") (param "request" (list u8)) (result (result (list u8) (error string)))
    ${LIFT}))`;

const STDOUT = `
(component
  (import "wasi:io/streams@0.2.0" (instance $streams
    (export "output-stream" (type $os (sub resource)))
    (export "[method]output-stream.blocking-write-and-flush" (func (param "self" (borrow $os)) (param "contents" (list u8))))))
  (alias export $streams "output-stream" (type $os))
  (import "wasi:cli/stdout@0.2.0" (instance $stdout
    (export "output-stream" (type $o (eq $os)))
    (export "get-stdout" (func (result (own $o))))))
  (import "wasi:cli/stderr@0.2.0" (instance $stderr
    (export "output-stream" (type $o (eq $os)))
    (export "get-stderr" (func (result (own $o))))))
  (core module $memmod (memory (export "memory") 1) ${ALLOCATOR})
  (core instance $mem (instantiate $memmod))
  (core func $get_stdout (canon lower (func $stdout "get-stdout")))
  (core func $get_stderr (canon lower (func $stderr "get-stderr")))
  (core func $write (canon lower (func $streams "[method]output-stream.blocking-write-and-flush") (memory (core memory $mem "memory"))))
  (core func $drop (canon resource.drop $os))
  (core module $main
    (import "env" "memory" (memory 1))
    (import "env" "get_stdout" (func $get_stdout (result i32)))
    (import "env" "get_stderr" (func $get_stderr (result i32)))
    (import "env" "write" (func $write (param i32 i32 i32)))
    (import "env" "drop" (func $drop (param i32)))
    (data (i32.const 64) "to stderr\\n")
    ;; writes the request twice to stdout and a line to stderr, then echoes it
    (func (export "handle") (param $p i32) (param $l i32) (result i32) (local $h i32)
      (local.set $h (call $get_stdout))
      (call $write (local.get $h) (local.get $p) (local.get $l))
      (call $write (local.get $h) (local.get $p) (local.get $l))
      (call $drop (local.get $h))
      (local.set $h (call $get_stderr))
      (call $write (local.get $h) (i32.const 64) (i32.const 10))
      (call $drop (local.get $h))
      ${RETURN(0, '(local.get $p)', '(local.get $l)')}))
  (core instance $i (instantiate $main (with "env" (instance
    (export "memory" (memory $mem "memory"))
    (export "get_stdout" (func $get_stdout))
    (export "get_stderr" (func $get_stderr))
    (export "write" (func $write))
    (export "drop" (func $drop))))))
  (func (export "handle") (param "request" (list u8)) (result (result (list u8) (error string)))
    (canon lift (core func $i "handle") (memory (core memory $mem "memory"))
      (realloc (core func $mem "cabi_realloc")) (post-return (core func $mem "reset")))))`;

const EXIT = `
(component
  (import "wasi:cli/exit@0.2.0" (instance $exit (export "exit" (func (param "status" (result))))))
  (core func $exit (canon lower (func $exit "exit")))
  (core module $m
    (import "env" "exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    ${ALLOCATOR}
    (func (export "handle") (param $p i32) (param $l i32) (result i32)
      (call $exit (i32.const 1))
      ${RETURN(0, '(local.get $p)', '(local.get $l)')}))
  (core instance $i (instantiate $m (with "env" (instance (export "exit" (func $exit))))))
  (func (export "handle") (param "request" (list u8)) (result (result (list u8) (error string)))
    ${LIFT}))`;

/** Component text of every fixture, by name. */
export const FIXTURES = {
  /** Returns the request. */
  echo: simple(RETURN(0, '(local.get $p)', '(local.get $l)')),
  /**
   * Counts its calls in a global and returns the count (u32 LE): it increments only while the
   * instance is reused. A request starting with `!` traps after counting.
   */
  counter: simple(
    `(global.set $count (i32.add (global.get $count) (i32.const 1)))
      (if (i32.and (i32.gt_u (local.get $l) (i32.const 0)) (i32.eq (i32.load8_u (local.get $p)) (i32.const 33)))
        (then unreachable))
      (i32.store (i32.const 32) (global.get $count))
      ${RETURN(0, '(i32.const 32)', '(i32.const 4)')}`,
    '(global $count (mut i32) (i32.const 0))',
  ),
  /** Never returns when the request starts with `L`; echoes anything else. */
  loop: simple(`(if (i32.and (i32.gt_u (local.get $l) (i32.const 0)) (i32.eq (i32.load8_u (local.get $p)) (i32.const 76)))
        (then (loop $forever (br $forever))))
      ${RETURN(0, '(local.get $p)', '(local.get $l)')}`),
  /** Traps at once. */
  trap: simple('(unreachable)'),
  /** Grows its memory a page at a time until a grow fails, then traps (as allocators do). */
  grow: simple(`(block $done (loop $more
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
      (unreachable)`),
  /** Returns err("it went wrong"). */
  err: simple(RETURN(1, '(i32.const 64)', '(i32.const 13)'), '(data (i32.const 64) "it went wrong")'),
  /** Needs 4 MiB of memory to start. */
  bigmem: simple(RETURN(0, '(local.get $p)', '(local.get $l)'), '', '(memory (export "memory") 64)'),
  /** Calls wasi:cli/exit with an error status. */
  exit: EXIT,
  /** Prints the request twice to stdout and "to stderr" to stderr, then echoes it. */
  stdout: STDOUT,
  /** Exports `run` instead of `handle`: not wafer's world. */
  nohandle: simple(RETURN(0, '(local.get $p)', '(local.get $l)')).replace('(func (export "handle") (param "request"', '(func (export "run") (param "request"'),
} as const;

export type FixtureName = keyof typeof FIXTURES;

/** A fixture as a `LoadUnit` (the component bytes and their sha256). */
export async function fixtureUnit(name: FixtureName): Promise<LoadUnit & { component: Uint8Array }> {
  const component = await parse(FIXTURES[name]);
  const digest = createHash('sha256').update(component).digest('hex');
  return { digest, component, bytes: async () => component };
}
