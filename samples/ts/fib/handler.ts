/**
 * fib — CPU-bound on purpose, for the quota tests (samples/README.md): fib(n) by the naive
 * double recursion, n from query parameter `n` (ASCII decimal digits, 0 to 78; default 20).
 */
import type { Request, Response } from '@wafer/sdk';

const HEADERS: [string, string][] = [
  ['content-type', 'text/plain; charset=utf-8'],
  ['x-wafer-sample', 'fib'],
];

function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** n from the query: 20 when absent; undefined unless it is all ASCII digits with a value of at most 78. */
function parseN(raw: string | undefined): number | undefined {
  if (raw === undefined) return 20;
  if (!/^[0-9]+$/.test(raw)) return undefined; // no sign, space or other digits
  const digits = raw.replace(/^0+(?=.)/, ''); // leading zeros are fine: "007" is 7
  return digits.length <= 2 && Number(digits) <= 78 ? Number(digits) : undefined;
}

export function handle(req: Request): Response {
  const n = parseN(req.queryParamText('n'));
  if (n === undefined) return { status: 400, headers: HEADERS, body: 'n must be an integer from 0 to 78' };
  return { status: 200, headers: HEADERS, body: `fib(${n}) = ${fib(n)}` };
}
