/**
 * @module executors/wasi-http
 * The `wasi:http/proxy` 0.2 world: the component exports `wasi:http/incoming-handler@0.2.x`
 * (any 0.2 minor) with `handle: func(request: own<incoming-request>, response-out: own<response-outparam>)`,
 * as `wasmtime serve`, Spin and the `wasi`/`wstd` crates build them. Stored as
 * `wasi:http/proxy@0.2.x` (the 0.2 line: every minor wasmtime 48 links).
 *
 * Its imports are the proxy's (wasi:http, io, clocks, random, cli stdio) plus what a language's
 * standard library adds (the rest of wasi:cli, wasi:filesystem with nothing preopened, and
 * wasi:sockets, which CPython's runtime in componentize-py imports: the store allows no TCP, UDP
 * or name lookup, so every socket operation fails), all 0.2; anything else (a non-WASI
 * interface, another WASI proposal) is `abi_mismatch` naming the import.
 *
 * Across the engine boundary the call travels in the same wafer.v1 envelope as the handler
 * world: the wasmtime addon builds the guest's `incoming-request` from it and encodes the
 * response the guest set back into it (host/native/src/http.rs), so the answer is checked here
 * exactly as the handler world's (status 200-599, valid headers, framing headers dropped). The
 * guest never sees the envelope. Only the wasmtime engine runs this world; jco refuses it.
 */
import { checkHead } from '../abi/envelope.js';
import { ComponentError } from '../errors.js';
import { envelopeMapping, type Executor } from './executor.js';
import { describeFunc, type ComponentTypes } from './types.js';

export const WASI_HTTP_WORLD = 'wasi:http/proxy@0.2.x';

const HANDLER = /^wasi:http\/incoming-handler@0\.2\.\d+$/;
/** Any version of the world's export: other versions are detected so the refusal names them. */
const ANY_HANDLER = /^wasi:http\/(incoming-)?handler@/;
/** Interfaces a proxy component may import, all at 0.2.x. */
const ALLOWED = /^wasi:(http|io|clocks|random|cli|filesystem|sockets)\/[a-z0-9-]+@0\.2\.\d+(-[0-9A-Za-z.-]+)?$/;

function handlerExport(types: ComponentTypes): string | undefined {
  return Object.keys(types.exports).find((name) => HANDLER.test(name));
}

export const wasiHttp: Executor = {
  world: WASI_HTTP_WORLD,

  detect: (types) => Object.keys(types.exports).some((name) => ANY_HANDLER.test(name)),

  validate(types: ComponentTypes): void {
    const name = handlerExport(types);
    const other = Object.keys(types.exports).find((n) => ANY_HANDLER.test(n));
    if (name === undefined && other !== undefined) {
      throw new ComponentError(
        'abi_mismatch',
        `the component exports ${other}; wafer runs wasi:http/incoming-handler@0.2.x (world ${WASI_HTTP_WORLD}), not this version`,
      );
    }
    const handler = name === undefined ? undefined : types.exports[name];
    if (name === undefined || handler?.kind !== 'instance') {
      throw new ComponentError('abi_mismatch', `the component does not export wasi:http/incoming-handler@0.2.x (world ${WASI_HTTP_WORLD})`);
    }
    const handle = handler.exports.handle;
    const fits = handle?.kind === 'func' && !handle.async && handle.params.length === 2 && handle.result === undefined;
    if (!fits) {
      const found = handle === undefined ? 'no handle' : handle.kind === 'func' ? `handle: ${describeFunc(handle)}` : `handle: ${handle.kind}`;
      throw new ComponentError('abi_mismatch', `${name} has ${found}; wasi:http needs handle: func(request: own<incoming-request>, response-out: own<response-outparam>)`);
    }
    const foreign = Object.keys(types.imports).filter((imp) => !ALLOWED.test(imp));
    if (foreign.length > 0) {
      throw new ComponentError(
        'abi_mismatch',
        `the component imports ${foreign.join(', ')}; a wasi:http/proxy function gets only wasi:http, io, clocks, random, cli, filesystem and sockets 0.2 interfaces`,
      );
    }
  },

  ...envelopeMapping,

  // On an engine that streams (wasmtime) the head goes out as soon as the guest sets it.
  fromGuestHead: (status, headers) => checkHead(status, headers),
};
