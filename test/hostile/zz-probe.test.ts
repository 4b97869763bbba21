import { it } from 'vitest';
import { startTestHost } from '/work/wt-corpus/test/helpers/host.js';
import { build, chatty } from '/work/wt-corpus/test/hostile/kit.js';
it.each(['wasmtime','jco'] as const)('probe %s', async (engine) => {
  const host = await startTestHost(engine);
  await host.deploy('f', await build(chatty('stdout', 4096, 2048)));
  const r = await host.call('f'); console.log(engine, r.status, (await r.text()).slice(0,300));
  await host.destroy();
}, 200000);
