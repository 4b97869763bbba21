/**
 * @module bench/many
 * Many deployed functions: `deployed-rss` is the host's resident memory after deploying N
 * functions (1,000; quick: 100) and leaving them idle; `deployed-cold-call` is the first call to
 * one of them after a restart. Variant `same`: one component under N names (hello-rust, else the
 * respond fixture). Variant `distinct`: N different components (salted copies of the respond
 * fixture), so the engine holds N compiled components.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineName } from '../../host/src/engine/engine.js';
import type { BenchContext } from './context.js';
import { deploy, send } from './http-client.js';
import { startHostProcess } from './servers.js';
import { msSince, percentile, round } from './stats.js';
import { HTTP_BODY, HTTP_HEADERS, httpSubjects, readSubject, salted } from './subjects.js';

const MiB = 1024 * 1024;
/** Uploads in flight while deploying N functions. */
const DEPLOY_CONCURRENCY = 4;

type Variant = 'same' | 'distinct';

export async function runMany(ctx: BenchContext, engine: EngineName): Promise<void> {
  const subjects = httpSubjects(ctx.sizes.languages);
  const fixture = subjects.find((s) => s.language === 'wat');
  const sample = subjects.find((s) => s.language === 'rust') ?? fixture;
  const plans: { variant: Variant; subject: typeof fixture }[] = [
    { variant: 'same', subject: sample },
    { variant: 'distinct', subject: fixture },
  ];
  for (const { variant, subject } of plans) {
    if (!subject) continue;
    const rss = ctx.selected('deployed-rss', subject.language, engine);
    const cold = ctx.selected('deployed-cold-call', subject.language, engine);
    if (!rss && !cold) continue;
    if (variant === 'distinct' && engine === 'jco') {
      ctx.skip({ scenario: 'deployed-rss/deployed-cold-call (distinct)', engine, reason: `each jco upload is transpiled (about 1 s even for a tiny component), so ${ctx.sizes.functions} distinct uploads would take as many seconds` });
      continue;
    }
    await runVariant(ctx, engine, variant, subject, { rss, cold });
  }
}

async function runVariant(
  ctx: BenchContext,
  engine: EngineName,
  variant: Variant,
  subject: NonNullable<ReturnType<typeof httpSubjects>[number]>,
  want: { rss: boolean; cold: boolean },
): Promise<void> {
  const n = ctx.sizes.functions;
  const dir = await mkdtemp(join(tmpdir(), 'wafer-bench-many-'));
  // Its own cache: the distinct variant would otherwise leave N artifacts in the persistent one.
  const dirs = { dataDir: join(dir, 'data'), cacheDir: join(dir, 'cache') };
  const names = Array.from({ length: n }, (_, i) => `f${String(i).padStart(5, '0')}`);
  const bytes = readSubject(subject);
  const what = variant === 'same' ? `${subject.function} under ${n} names` : `${n} distinct copies of ${subject.function}`;
  try {
    ctx.progress(`deployed-rss on ${engine}: deploying ${what}`);
    const host = await startHostProcess({ engine, ...dirs });
    let rssEmpty: number;
    let rssAfter: number;
    const deployMs: number[] = [];
    try {
      rssEmpty = await host.rss();
      let next = 0;
      let done = 0;
      const worker = async () => {
        while (next < names.length) {
          const name = names[next++]!;
          deployMs.push(await deploy(host.url, name, variant === 'same' ? bytes : salted(bytes)));
          if (++done % Math.max(1, Math.floor(n / 4)) === 0) ctx.progress(`  ${done}/${n} deployed`);
        }
      };
      await Promise.all(Array.from({ length: DEPLOY_CONCURRENCY }, worker));
      rssAfter = await host.rss();
    } finally {
      await host.stop();
    }
    const sortedDeploy = [...deployMs].sort((a, b) => a - b);
    const common = { language: subject.language, engine, function: subject.function, variant, functions: n };
    if (want.rss) {
      const mib = rssAfter / MiB;
      ctx.addRow({
        scenario: 'deployed-rss',
        ...common,
        p50: mib,
        p90: mib,
        p99: mib,
        max: mib,
        unit: 'MiB',
        n: 1,
        rss_empty_mib: round(rssEmpty / MiB),
        deploy_ms_p50: round(percentile(sortedDeploy, 50)),
        note: `host RSS after deploying ${what} (${DEPLOY_CONCURRENCY} uploads at a time) and leaving them idle; rss_empty_mib is the same host before the first upload`,
      });
    }
    if (want.cold) {
      ctx.progress(`deployed-cold-call on ${engine}: ${ctx.sizes.coldRestarts} restart(s) with ${n} functions`);
      const samples: number[] = [];
      const starts: number[] = [];
      const rssAfterCall: number[] = [];
      for (let i = 0; i < ctx.sizes.coldRestarts; i++) {
        const restarted = await startHostProcess({ engine, ...dirs });
        try {
          const name = names[Math.floor(Math.random() * names.length)]!;
          const reply = await send(`${restarted.url}/fn/${name}`, 'POST', HTTP_BODY, { ...HTTP_HEADERS }, false);
          const ms = msSince(restarted.listeningAt);
          if (reply.status !== 200) throw new Error(`the first call of ${name} answered ${reply.status}: ${reply.body.toString('utf8', 0, 300)}`);
          samples.push(ms);
          starts.push(restarted.startMs);
          rssAfterCall.push((await restarted.rss()) / MiB);
        } finally {
          await restarted.stop();
        }
      }
      ctx.addSamples(
        {
          scenario: 'deployed-cold-call',
          ...common,
          unit: 'ms',
          process_start_ms_p50: round(percentile([...starts].sort((a, b) => a - b), 50)),
          rss_after_call_mib: round(Math.max(...rssAfterCall)),
          note: `first call to one of ${n} deployed functions after a restart, from "listening" to its response; process_start_ms is spawn to listening (loading the registry of ${n})`,
        },
        samples,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
