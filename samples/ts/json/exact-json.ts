/**
 * JSON with exact numbers. `JSON.parse` turns every number into a double, so it reads
 * `9007199254740993` as 2^53 and `1.00000000000000001` as 1; the spec judges the value as
 * written. `parseExact` lets `JSON.parse` decide what is valid JSON, then walks the same text
 * again keeping each number's source text, which `exactInteger` reads without rounding.
 */

/** A number as written in the source, e.g. `-12`, `1.5e3`. */
export class JsonNumber {
  constructor(readonly raw: string) {}
}

/** A parsed JSON value whose numbers keep their source text. */
export type Value = null | boolean | string | JsonNumber | Value[] | JsonObject;
/** An object without a prototype: any key, `__proto__` included, is an ordinary member. */
export type JsonObject = { [key: string]: Value };

/** A JSON object (not an array, not null). */
export function isObject(v: Value | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

const MAX = 2n ** 53n;
const NUMBER = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/** The value of a JSON number if it is a whole number of magnitude at most 2^53, else undefined. */
export function exactInteger(v: Value): bigint | undefined {
  if (!(v instanceof JsonNumber)) return undefined;
  const m = NUMBER.exec(v.raw);
  if (!m) return undefined;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  let digits = (int + frac).replace(/^0+/, '');
  if (digits === '') return 0n;
  const significant = digits.replace(/0+$/, '');
  // value = digits × 10^scale; move trailing zeros into the exponent
  const scale = Number(exp) - frac.length + (digits.length - significant.length);
  digits = significant;
  if (scale < 0) return undefined; // a non-zero fraction remains
  if (digits.length + scale > 16) return undefined; // ≥ 10^16 > 2^53
  const value = BigInt(digits) * 10n ** BigInt(scale);
  if (value > MAX) return undefined;
  return sign ? -value : value;
}

/** Parses JSON text; throws a SyntaxError where `JSON.parse` would. */
export function parseExact(text: string): Value {
  JSON.parse(text); // the judge of validity: the walk below assumes well-formed JSON
  let i = 0;
  const skipSpace = () => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const string = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): Value => {
    skipSpace();
    switch (text[i]) {
      case '{': {
        i++;
        const obj: JsonObject = Object.create(null);
        skipSpace();
        if (text[i] === '}') return i++, obj;
        for (;;) {
          skipSpace();
          const key = string();
          skipSpace();
          i++; // ':'
          obj[key] = value(); // a repeated key: the last one wins, as in JSON.parse
          skipSpace();
          if (text[i++] === '}') return obj; // else ','
        }
      }
      case '[': {
        i++;
        const arr: Value[] = [];
        skipSpace();
        if (text[i] === ']') return i++, arr;
        for (;;) {
          arr.push(value());
          skipSpace();
          if (text[i++] === ']') return arr; // else ','
        }
      }
      case '"':
        return string();
      case 't':
        return (i += 4), true;
      case 'f':
        return (i += 5), false;
      case 'n':
        return (i += 4), null;
      default: {
        const start = i;
        while (i < text.length && '+-.0123456789eE'.includes(text[i]!)) i++;
        return new JsonNumber(text.slice(start, i));
      }
    }
  };
  return value();
}
