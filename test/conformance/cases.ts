/**
 * The conformance table: one request, one expected response, straight from samples/README.md.
 * Every case runs against the sample in every language on every engine, and the answers must
 * match byte for byte: status, the function's headers in order, and the body.
 */

export interface Case {
  name: string;
  sample: 'hello' | 'json' | 'fib';
  method: string;
  /** Path and query after /fn/<name>. */
  target: string;
  body?: Buffer;
  status: number;
  headers: Array<[string, string]>;
  responseBody: Buffer;
}

const text = 'text/plain; charset=utf-8';
const ONE_MIB = Buffer.alloc(1024 * 1024, 'wafer-');
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function hello(method: string, path: string, name: Buffer | string): Pick<Case, 'status' | 'headers' | 'responseBody'> {
  return {
    status: 200,
    headers: [
      ['content-type', text],
      ['x-wafer-sample', 'hello'],
      ['x-wafer-method', method],
      ['x-wafer-path', path],
    ],
    responseBody: Buffer.concat([Buffer.from('Hello, '), Buffer.from(name), Buffer.from('!')]),
  };
}

function json(status: number, body: string): Pick<Case, 'status' | 'headers' | 'responseBody'> {
  return { status, headers: [['content-type', 'application/json'], ['x-wafer-sample', 'json']], responseBody: Buffer.from(body, 'utf8') };
}

function fib(status: number, body: string): Pick<Case, 'status' | 'headers' | 'responseBody'> {
  return { status, headers: [['content-type', text], ['x-wafer-sample', 'fib']], responseBody: Buffer.from(body) };
}

const post = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');

export const CASES: Case[] = [
  { name: 'hello with nothing greets the world', sample: 'hello', method: 'GET', target: '', ...hello('GET', '/', 'world') },
  { name: 'hello greets the name parameter', sample: 'hello', method: 'GET', target: '/greet?name=Ada&x=1', ...hello('GET', '/greet', 'Ada') },
  {
    name: 'hello decodes a percent-encoded unicode name and keeps a unicode path as received',
    sample: 'hello',
    method: 'GET',
    target: '/caf%C3%A9/%F0%9F%8C%8D?lang=x&name=%E4%B8%96%E7%95%8C',
    ...hello('GET', '/caf%C3%A9/%F0%9F%8C%8D', '世界'),
  },
  { name: 'hello turns + into a space and keeps a bad escape', sample: 'hello', method: 'GET', target: '?name=a+b%21%zz', ...hello('GET', '/', 'a b!%zz') },
  { name: 'hello prefers the body and echoes the method', sample: 'hello', method: 'PUT', target: '/x?name=nobody', body: post('Grace'), ...hello('PUT', '/x', 'Grace') },
  { name: 'hello echoes a binary body byte for byte', sample: 'hello', method: 'POST', target: '', body: ALL_BYTES, ...hello('POST', '/', ALL_BYTES) },
  { name: 'hello treats an empty body as absent', sample: 'hello', method: 'POST', target: '?name=Lin', body: Buffer.alloc(0), ...hello('POST', '/', 'Lin') },
  { name: 'hello echoes a 1 MiB body', sample: 'hello', method: 'POST', target: '', body: ONE_MIB, ...hello('POST', '/', ONE_MIB) },

  { name: 'json sums and counts', sample: 'json', method: 'POST', target: '', body: post({ name: 'Ada', numbers: [1, 2, 39] }), ...json(200, '{"greeting":"Hello, Ada!","count":3,"sum":42}') },
  { name: 'json defaults name and numbers', sample: 'json', method: 'POST', target: '', body: post({}), ...json(200, '{"greeting":"Hello, world!","count":0,"sum":0}') },
  { name: 'json handles negatives and large whole numbers', sample: 'json', method: 'POST', target: '', body: post('{"numbers":[-5,3,9007199254740000]}'), ...json(200, '{"greeting":"Hello, world!","count":3,"sum":9007199254739998}') },
  {
    name: 'json escapes only what the spec says',
    sample: 'json',
    method: 'POST',
    target: '',
    body: post({ name: 'Zoë "q" \\ \n\t\u0001 / <>& 世界' }),
    ...json(200, '{"greeting":"Hello, Zoë \\"q\\" \\\\ \\n\\t\\u0001 / <>& 世界!","count":0,"sum":0}'),
  },
  { name: 'json refuses an array', sample: 'json', method: 'POST', target: '', body: post([1, 2]), ...json(400, '{"error":"body is not a JSON object"}') },
  { name: 'json refuses an empty body', sample: 'json', method: 'POST', target: '', body: Buffer.alloc(0), ...json(400, '{"error":"body is not a JSON object"}') },
  { name: 'json refuses invalid JSON', sample: 'json', method: 'POST', target: '', body: post('{"name":'), ...json(400, '{"error":"body is not a JSON object"}') },
  { name: 'json refuses a name that is not a string', sample: 'json', method: 'POST', target: '', body: post({ name: 5 }), ...json(400, '{"error":"name must be a string"}') },
  { name: 'json refuses fractional numbers', sample: 'json', method: 'POST', target: '', body: post({ numbers: [1, 1.5] }), ...json(400, '{"error":"numbers must be an array of integers"}') },
  { name: 'json refuses numbers that are not an array', sample: 'json', method: 'POST', target: '', body: post({ numbers: 'x' }), ...json(400, '{"error":"numbers must be an array of integers"}') },

  { name: 'fib defaults to n=20', sample: 'fib', method: 'GET', target: '', ...fib(200, 'fib(20) = 6765') },
  { name: 'fib of 0', sample: 'fib', method: 'GET', target: '?n=0', ...fib(200, 'fib(0) = 0') },
  { name: 'fib of 25', sample: 'fib', method: 'GET', target: '/any/path?n=25', ...fib(200, 'fib(25) = 75025') },
  { name: 'fib refuses n out of range', sample: 'fib', method: 'GET', target: '?n=79', ...fib(400, 'n must be an integer from 0 to 78') },
  { name: 'fib refuses n that is not a number', sample: 'fib', method: 'GET', target: '?n=abc', ...fib(400, 'n must be an integer from 0 to 78') },
];
