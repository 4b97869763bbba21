/**
 * @module executors/wafer-handler
 * The `wafer:function/handler` 1.x world (abi/ABI.md): the component exports
 * `handle: func(request: list<u8>) -> result<list<u8>, string>` and imports only WASI 0.2 and,
 * from ABI 1.1, `wafer:function/host@1.1.x` (`invoke`, a call of another function); each
 * call's HTTP request is encoded as a protobuf `wafer.v1.Request` and the `ok` bytes decoded as
 * a `wafer.v1.Response`. The one place that states the handle signature on the TypeScript side.
 */
import { ComponentError } from '../errors.js';
import { envelopeMapping, type Executor } from './executor.js';
import { describeFunc, type ComponentTypes } from './types.js';

export const WAFER_HANDLER_WORLD = 'wafer:function/handler@1.0.0';

const BYTES = 'list<u8>';
const HANDLE_RESULT = 'result<list<u8>, string>';
const EXPECTED = `handle: func(request: ${BYTES}) -> ${HANDLE_RESULT}`;
/** The ABI 1.1 host interface (abi/wit/1.1.0/world.wit), any 1.x minor from 1.1. */
const HOST_INTERFACE = /^wafer:function\/host@1\.([1-9][0-9]*)\.[0-9]+$/;
const INVOKE = `invoke: func(target: string, request: ${BYTES}) -> ${HANDLE_RESULT}`;

/** Checks an import of the ABI 1.1 host interface has only the functions this host provides, with their types. */
function checkHostImport(name: string, item: ComponentTypes['imports'][string]): void {
  if (item.kind !== 'instance') throw new ComponentError('abi_mismatch', `the component imports ${name} as a ${item.kind}; it is an interface with ${INVOKE}`);
  for (const [fn, type] of Object.entries(item.exports)) {
    const fits = fn === 'invoke' && type.kind === 'func' && !type.async && type.params.length === 2 && type.params[0]!.type === 'string' && type.params[1]!.type === BYTES && type.result === HANDLE_RESULT;
    if (!fits) {
      const found = type.kind === 'func' ? `${fn}: ${describeFunc(type)}` : `${fn} (a ${type.kind})`;
      throw new ComponentError('abi_mismatch', `the component imports ${found} from ${name}; this host's ${name.replace(/@.*/, '')} provides only ${INVOKE}`);
    }
  }
}

export const waferHandler: Executor = {
  world: WAFER_HANDLER_WORLD,

  detect: (types) => 'handle' in types.exports,

  validate(types: ComponentTypes): void {
    const handle = types.exports.handle;
    if (!handle) {
      throw new ComponentError('abi_mismatch', `the component does not export ${EXPECTED} (world ${WAFER_HANDLER_WORLD})`);
    }
    const fits = handle.kind === 'func' && !handle.async && handle.params.length === 1 && handle.params[0]!.type === BYTES && handle.result === HANDLE_RESULT;
    if (!fits) {
      const found = handle.kind === 'func' ? describeFunc(handle) : handle.kind;
      throw new ComponentError('abi_mismatch', `the component exports handle: ${found}, but wafer ABI 1 needs ${EXPECTED}`);
    }
    for (const [name, item] of Object.entries(types.imports)) {
      if (HOST_INTERFACE.exec(name)?.[1] === '1') checkHostImport(name, item);
    }
    const foreign = Object.keys(types.imports).filter((name) => !name.startsWith('wasi:') && HOST_INTERFACE.exec(name)?.[1] !== '1');
    if (foreign.length > 0) {
      throw new ComponentError('abi_mismatch', `the component imports ${foreign.join(', ')}; wafer provides only WASI 0.2 interfaces and wafer:function/host@1.1.0`);
    }
  },

  ...envelopeMapping,
};
