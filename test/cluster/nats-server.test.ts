/**
 * The NATS server the cluster tests run on: set-up installs a JetStream-capable nats-server, and
 * the test helper starts, stops and restarts it.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NATS_SERVER_VERSION, natsServerPath } from '../../host/src/cluster/nats-bin.js';
import { startNats, type TestNats } from '../helpers/nats.js';

describe('the nats-server installed by set-up', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.destroy();
  });

  it('is the pinned release', () => {
    expect(execFileSync(natsServerPath(), ['--version']).toString()).toContain(`v${NATS_SERVER_VERSION}`);
  });

  it('runs JetStream, and keeps its streams across a restart on the same store', async () => {
    let nc = await connect({ servers: nats.url });
    let jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'probe', subjects: ['probe.>'] });
    await nc.close();

    await nats.stop();
    await nats.start();

    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('probe')).config.name).toBe('probe');
    await nc.close();
  });
});
