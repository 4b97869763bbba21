/**
 * @module cli/trigger
 * `wafer trigger add|ls|rm`: a function's triggers (PUT, GET and DELETE
 * /v1/functions/{name}/triggers[/{id}]). `add` makes or replaces one: `--cron "expr" [--tz Zone]`,
 * or `--queue SUBJECT` and/or `--stream S` with the queue options; `--publish SUBJECT` on either.
 */
import type { Command } from 'commander';
import { CLIENT_OPTION_HELP, CliError, Client, describeError, type ClientOptions } from './client.js';
import { EXIT_HELP, UsageError } from './exit.js';
import { printTable } from './table.js';

/** A trigger as the API answers it (routes/triggers.ts `triggerView`). */
interface TriggerView {
  id: string;
  type: 'cron' | 'queue';
  publish: string | null;
  schedule?: string;
  timezone?: string;
  next_at?: string | null;
  subject?: string | null;
  stream?: string | null;
  max_deliver?: number;
  concurrency?: number;
  dead_letter?: string;
}

interface AddFlags extends ClientOptions {
  cron?: string;
  tz?: string;
  queue?: string;
  stream?: string;
  durable?: string;
  maxDeliver?: string;
  backoff?: string;
  concurrency?: string;
  deadLetter?: string;
  publish?: string;
  json?: boolean;
}

/** A flag that must be a whole number. */
function count(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** The trigger body `add`'s flags describe; the host checks the values. */
export function triggerBody(flags: AddFlags): Record<string, unknown> {
  const queueFlags = (['queue', 'stream', 'durable', 'maxDeliver', 'backoff', 'concurrency', 'deadLetter'] as const).filter((k) => flags[k] !== undefined);
  const queue = flags.queue !== undefined || flags.stream !== undefined;
  if (flags.cron !== undefined && queue) throw new UsageError('--cron and --queue/--stream cannot go together: a trigger is one or the other');
  if (flags.cron === undefined && !queue) throw new UsageError('say what fires the trigger: --cron "EXPR" or --queue SUBJECT (or --stream NAME)');
  const publish = flags.publish === undefined ? {} : { publish: flags.publish };
  if (flags.cron !== undefined) {
    if (queueFlags.length > 0) throw new UsageError(`--${queueFlags[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --queue or --stream, not --cron`);
    return { type: 'cron', schedule: flags.cron, ...(flags.tz === undefined ? {} : { timezone: flags.tz }), ...publish };
  }
  if (flags.tz !== undefined) throw new UsageError('--tz goes with --cron');
  let backoff: number[] | undefined;
  if (flags.backoff !== undefined) backoff = flags.backoff.split(',').map((ms) => count(ms.trim(), '--backoff')!);
  const body: Record<string, unknown> = {
    type: 'queue',
    subject: flags.queue,
    stream: flags.stream,
    durable: flags.durable,
    max_deliver: count(flags.maxDeliver, '--max-deliver'),
    backoff_ms: backoff,
    concurrency: count(flags.concurrency, '--concurrency'),
    dead_letter: flags.deadLetter,
    ...publish,
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

/** What fires a trigger, in a few words. */
function source(t: TriggerView): string {
  if (t.type === 'cron') return `${t.schedule} (${t.timezone})`;
  return [t.stream && `stream ${t.stream}`, t.subject && `subject ${t.subject}`].filter(Boolean).join(', ');
}

function clientFlags(command: Command): Command {
  return command
    .option('--url <url>', CLIENT_OPTION_HELP.url)
    .option('--token <token>', CLIENT_OPTION_HELP.token)
    .option('--data-dir <dir>', CLIENT_OPTION_HELP.dataDir)
    .addHelpText('after', EXIT_HELP);
}

export function registerTrigger(program: Command): void {
  const trigger = program.command('trigger').description("manage a function's triggers: cron schedules and NATS queues that call it as POST /");
  const base = (name: string) => `/v1/functions/${encodeURIComponent(name)}/triggers`;

  clientFlags(
    trigger
      .command('add')
      .description('make or replace a trigger: --cron "EXPR" [--tz ZONE], or --queue SUBJECT / --stream NAME (queue triggers need a host started with --cluster)')
      .argument('<name>', 'function name')
      .argument('<id>', 'trigger id: a-z, then up to 62 of a-z, 0-9, -')
      .option('--cron <expr>', 'a cron schedule: five fields (minute first), six (second first), or @hourly, @daily, ...')
      .option('--tz <zone>', 'the IANA time zone the schedule is read in (default UTC)')
      .option('--queue <subject>', 'a NATS subject whose messages call the function (at least once)')
      .option('--stream <name>', 'a JetStream stream to read (with --queue: only its messages of that subject)')
      .option('--durable <name>', 'the durable consumer (default wafer_<name>_<id>)')
      .option('--max-deliver <n>', 'attempts before the dead-letter subject (default 5)')
      .option('--backoff <ms,...>', 'waits before each retry in ms, the last repeating (default 1000,5000,30000)')
      .option('--concurrency <n>', 'messages processed at once per host (default 4)')
      .option('--dead-letter <subject>', 'where failed messages go (default wafer.dead.<name>.<id>)')
      .option('--publish <subject>', "publish the function's 2xx answers to this subject (needs --cluster)")
      .option('--json', "print the host's JSON answer"),
  ).action(async (name: string, id: string, flags: AddFlags) => {
    const body = new TextEncoder().encode(JSON.stringify(triggerBody(flags)));
    const client = new Client(flags);
    const response = await client.request('PUT', `${base(name)}/${encodeURIComponent(id)}`, { body, headers: { 'content-type': 'application/json' } });
    if (!response.ok) throw new CliError(await describeError(response));
    const made = (await response.json()) as TriggerView;
    if (flags.json) console.log(JSON.stringify(made, null, 2));
    else console.log(`${response.status === 201 ? 'made' : 'replaced'} ${made.type} trigger ${made.id} of ${name}: ${source(made)}${made.next_at ? `, next at ${made.next_at}` : ''}${made.publish ? `, answers to ${made.publish}` : ''}`);
  });

  clientFlags(
    trigger
      .command('ls')
      .description("list a function's triggers")
      .argument('<name>', 'function name')
      .option('--json', "print the host's JSON answer"),
  ).action(async (name: string, flags: ClientOptions & { json?: boolean }) => {
    const list = await new Client(flags).json<{ name: string; triggers: TriggerView[] }>('GET', base(name));
    if (flags.json) console.log(JSON.stringify(list, null, 2));
    else if (list.triggers.length === 0) console.log(`${name} has no triggers`);
    else printTable([['ID', 'TYPE', 'FIRED BY', 'PUBLISH'], ...list.triggers.map((t) => [t.id, t.type, source(t), t.publish ?? ''])]);
  });

  clientFlags(
    trigger
      .command('rm')
      .description('remove a trigger: it fires no more')
      .argument('<name>', 'function name')
      .argument('<id>', 'trigger id'),
  ).action(async (name: string, id: string, flags: ClientOptions) => {
    await new Client(flags).json('DELETE', `${base(name)}/${encodeURIComponent(id)}`);
    console.log(`removed trigger ${id} of ${name}`);
  });
}
