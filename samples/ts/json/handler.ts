/**
 * json — parses, transforms, answers JSON (samples/README.md).
 * `{"name": "Ada", "numbers": [1, 2]}` → `{"greeting":"Hello, Ada!","count":2,"sum":3}`.
 * Numbers are judged by their exact value as written, so `1e3` and `2.0` are integers while
 * `1.5` and `9007199254740993` (beyond 2^53) are not; sums are exact (BigInt).
 */
import type { Request, Response } from '@wafer/sdk';
import { exactInteger, isObject, parseExact, type Value } from './exact-json.js';

const HEADERS: [string, string][] = [
  ['content-type', 'application/json'],
  ['x-wafer-sample', 'json'],
];

// The body must be UTF-8 as it is: a byte-order mark is not stripped (and then is not JSON).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function answer(status: number, body: string): Response {
  return { status, headers: HEADERS, body };
}

function fail(message: string): Response {
  // JSON.stringify escapes exactly as the spec asks: ", \, \b \f \n \r \t, other controls as \u00xx.
  return answer(400, `{"error":${JSON.stringify(message)}}`);
}

function parseBody(body: Uint8Array): Value | undefined {
  try {
    return parseExact(utf8.decode(body));
  } catch {
    return undefined; // not UTF-8, not JSON, or nested too deep
  }
}

export function handle(req: Request): Response {
  const doc = parseBody(req.body);
  if (!isObject(doc)) return fail('body is not a JSON object');

  const name = 'name' in doc ? doc.name : 'world';
  if (typeof name !== 'string') return fail('name must be a string');

  const numbers = 'numbers' in doc ? doc.numbers : [];
  if (!Array.isArray(numbers)) return fail('numbers must be an array of integers');
  let sum = 0n;
  for (const item of numbers) {
    const n = exactInteger(item);
    if (n === undefined) return fail('numbers must be an array of integers');
    sum += n;
  }
  return answer(200, `{"greeting":${JSON.stringify(`Hello, ${name}!`)},"count":${numbers.length},"sum":${sum}}`);
}
