/**
 * `npm run cost -- [--stage prod] [--messages 10000000] [--failure-rate 0.01] [--lane-share thumbnails=0.2] [--json]`:
 * the monthly cost of a stage, from its synthesized template (through the project's CDK CLI, into
 * `cdk.out.cost/`), cost/requests-per-message.json and cost/prices.us-east-1.json, with a
 * breakdown per lane.
 *
 * Exit codes: 0 estimate printed, 1 failure (synth failed, template unreadable), 2 usage error
 * (also a share for a lane the template does not have).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isStageName, STAGE_NAMES } from '../app/stages';
import {
  CostInputError,
  DEFAULT_FIFO_LANE,
  DEFAULT_INPUTS,
  DEFAULT_STANDARD_LANE,
  estimateMonthlyCost,
  type CfnTemplate,
  type CostEstimate,
  type CostInputs,
  type Prices,
  type RateLimitExtras,
  rateLimitExtras,
  type RequestsPerMessage,
  validateInputs,
} from './model';

const ROOT = join(__dirname, '..');
/** The cloud assembly directory of this command, apart from `cdk.out/`. */
export const COST_OUTDIR = 'cdk.out.cost';

const USAGE =
  'usage: npm run cost -- [--stage dev|staging|prod|local] [--messages N] [--failure-rate R] [--retry-rate R] ' +
  '[--exhausted-rate R] [--batch-share R] [--fifo-share R] [--lane-share LANE=R ...] [--message-bytes N] ' +
  '[--template FILE] [--json]';

class UsageError extends Error {}

/** Reads a JSON file of the cost folder (or any path). */
export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The unit prices and requests-per-message files this command uses. */
export function loadCostData(): { prices: Prices; requests: RequestsPerMessage } {
  return {
    prices: readJson<Prices>(join(ROOT, 'cost', 'prices.us-east-1.json')),
    requests: readJson<RequestsPerMessage>(join(ROOT, 'cost', 'requests-per-message.json')),
  };
}

function numberOption(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (raw.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return n;
}

/**
 * The `--lane-share LANE=R` options as shares by lane. `fifo=R` is the default FIFO lane's share
 * (the same as `--fifo-share R`); the default standard lane gets the rest and cannot be given.
 */
export function parseLaneShares(raw: readonly string[]): {
  fifoShare?: number;
  laneShares: Record<string, number>;
} {
  const laneShares: Record<string, number> = {};
  let fifoShare: number | undefined;
  for (const item of raw) {
    const m = /^([a-z][a-z0-9-]*)=(.*)$/.exec(item);
    if (!m) throw new UsageError(`--lane-share must be LANE=SHARE (e.g. thumbnails=0.2), got "${item}"`);
    const [, lane, value] = m as unknown as [string, string, string];
    if (lane === DEFAULT_STANDARD_LANE)
      throw new UsageError(
        `--lane-share cannot give the ${DEFAULT_STANDARD_LANE} lane's share: it gets the rest of the messages`,
      );
    const share = numberOption(`lane-share ${lane}`, value, 0);
    if (lane in laneShares || (lane === DEFAULT_FIFO_LANE && fifoShare !== undefined))
      throw new UsageError(`--lane-share gives lane ${lane} twice`);
    if (lane === DEFAULT_FIFO_LANE) fifoShare = share;
    else laneShares[lane] = share;
  }
  return { ...(fifoShare === undefined ? {} : { fifoShare }), laneShares };
}

/** The model's input field names in a message, as the options that set them. */
const OPTION_OF: Readonly<Record<string, string>> = {
  failureRate: 'failure-rate',
  retryRate: 'retry-rate',
  exhaustedRate: 'exhausted-rate',
  batchShare: 'batch-share',
  fifoShare: 'fifo-share',
  messageBytes: 'message-bytes',
  laneShares: 'lane-share',
};

/** A model's message about its inputs, worded with the command's options. */
export function inOptionTerms(message: string): string {
  return message
    .replace(/\blaneShares\.([a-z][a-z0-9-]*)/g, '--lane-share $1')
    .replace(
      /\b(failureRate|retryRate|exhaustedRate|batchShare|fifoShare|messageBytes|laneShares)\b/g,
      (k) => `--${OPTION_OF[k]}`,
    )
    .replace(/^messages must/, '--messages must');
}

/** Synthesizes a stage through the project's CDK CLI into {@link COST_OUTDIR}; returns the template. */
export function synthTemplate(stage: string): CfnTemplate {
  const r = spawnSync('npm', ['run', '-s', 'synth', '--', '-c', `stage=${stage}`, '-o', COST_OUTDIR], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    const last = (r.stderr || r.stdout || '').trim().split('\n').pop() ?? '';
    throw new Error(`cdk synth of stage ${stage} failed (exit ${r.status}): ${last}`);
  }
  return readJson<CfnTemplate>(join(ROOT, COST_OUTDIR, `EventPipeline-${stage}.template.json`));
}

const usd = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(4));
const qty = (n: number) =>
  n >= 1e6
    ? `${(n / 1e6).toFixed(2)} M`
    : n >= 1e3
      ? `${(n / 1e3).toFixed(1)} k`
      : n >= 10
        ? n.toFixed(0)
        : n.toFixed(3);

/** The per-lane breakdown as a text table (the lines of the lanes' queues, consumers and DLQ sweeps). */
export function formatLanes(e: CostEstimate): string {
  const head = [
    'lane',
    'queue',
    'share',
    'SQS requests',
    'consumer GB-s',
    'DLQ sweep reads',
    'SQS USD',
    'Lambda USD',
    'sweep USD',
    'lane USD',
  ];
  const rows = e.lanes.map((l) => [
    l.lane,
    l.fifo ? 'FIFO' : 'standard',
    String(Number(l.share.toFixed(4))),
    qty(l.sqsRequests),
    `${qty(l.consumer.gbSeconds)}${l.consumer.memoryMb === undefined ? '' : ` (${l.consumer.memoryMb} MB)`}`,
    qty(l.dlqSweep.messagesRead),
    usd(l.sqsUsd),
    usd(l.consumer.usd),
    usd(l.dlqSweep.usd),
    usd(l.usd),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const pad = (r: string[]) =>
    r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    'per lane: requests on its queue and DLQ, its consumer (requests and duration), the sweeper reading its DLQ',
    '(SQS, S3 HEADs, duration); the API, producer, sweeper runs, table, archive, logs and monitoring are shared',
    '',
    pad(head),
    ...rows.map(pad),
  ].join('\n');
}

/**
 * What rate limits and deferrals add (issue 22): per million admitted runs of a rate-limited lane
 * and per million deferrals, with the counts measured by bench/rate-limit.ts. Not in the totals.
 */
export function formatRateLimit(x: RateLimitExtras): string {
  const run = (k: 'low' | 'high', what: string) => {
    const r = x.perRun[k];
    return (
      `  ${what}: ${r.bucketWriteUnits} write + ${r.bucketReadUnits} read units on its bucket row and ` +
      `${r.deferrals} deferral(s) per admitted run: ${usd(r.usdPerMillion)} USD per million runs`
    );
  };
  const lanes = Object.entries(x.rateLimitedLanes);
  return [
    `rate limits and deferrals (${x.source}; not in the totals above: how often records wait depends on the traffic against the limit):`,
    run('low', 'a rate-limited lane sized to its limit (records in flight <= perSecond x 1 s)'),
    run('high', 'one with 6x more records in flight than tokens per second'),
    `  each deferral (RetryLaterError, a notBefore not due, no token): 1 status write, 1 ChangeMessageVisibility, ` +
      `its redelivery (a share of a ReceiveMessage): ${usd(x.perDeferralUsdPerMillion.standard)} USD per million ` +
      `(FIFO ${usd(x.perDeferralUsdPerMillion.fifo)})`,
    `  lanes of this template with a rate limit: ${lanes.length ? lanes.map(([l, r]) => `${l} (${r.perSecond}/s, burst ${r.burst})`).join(', ') : 'none'}`,
  ].join('\n');
}

/** The estimate as a text table, then the per-lane breakdown. */
export function formatTable(stage: string, e: CostEstimate, rateLimit?: RateLimitExtras): string {
  const rows = e.lines.map((l) => [l.service, l.item, `${qty(l.quantity)} ${l.unit}`, usd(l.usd)]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), 8));
  const pad = (r: string[]) =>
    `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padStart(widths[2]!)}  ${r[3]!.padStart(10)}`;
  const total = `${'total'.padEnd(widths[0]! + widths[1]! + widths[2]! + 4)}  ${usd(e.totalUsd).padStart(10)}`;
  const i = e.inputs;
  const lanes = Object.entries(i.laneShares ?? {});
  return [
    `EventPipeline-${stage}: ${i.messages.toLocaleString('en-US')} messages/month, permanent failures ${i.failureRate}, ` +
      `retried ${i.retryRate}, exhausted ${i.exhaustedRate}, batch POSTs ${i.batchShare}, FIFO ${i.fifoShare}, ` +
      `${lanes.map(([lane, share]) => `${lane} ${share}, `).join('')}${i.messageBytes} B`,
    `prices ${e.region} as of ${e.pricesTakenOn}; requests per message: ${e.requestsStatus}`,
    '',
    pad(['service', 'item', 'quantity', 'USD/month']),
    ...rows.map(pad),
    total,
    `per million messages: ${usd(e.usdPerMillionMessages)} USD`,
    `idle (0 messages: alarms, dashboards, keys, idle polling, sweeper runs): ${usd(e.idleUsd)} USD; ` +
      `the traffic adds ${usd(e.totalUsd - e.idleUsd)} USD`,
    '',
    formatLanes(e),
    ...(rateLimit ? ['', formatRateLimit(rateLimit)] : []),
  ].join('\n');
}

/** Runs the command with `argv` (without node and script); returns the exit code. */
export function main(argv: readonly string[]): number {
  let stage: string;
  let inputs: CostInputs;
  let json: boolean;
  let templatePath: string | undefined;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        stage: { type: 'string', default: 'prod' },
        messages: { type: 'string' },
        'failure-rate': { type: 'string' },
        'retry-rate': { type: 'string' },
        'exhausted-rate': { type: 'string' },
        'batch-share': { type: 'string' },
        'fifo-share': { type: 'string' },
        'lane-share': { type: 'string', multiple: true },
        'message-bytes': { type: 'string' },
        template: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    stage = values.stage!;
    if (!isStageName(stage))
      throw new UsageError(`--stage must be one of ${STAGE_NAMES.join(', ')}, got "${stage}"`);
    const lanes = parseLaneShares(values['lane-share'] ?? []);
    if (lanes.fifoShare !== undefined && values['fifo-share'] !== undefined)
      throw new UsageError(
        `--lane-share ${DEFAULT_FIFO_LANE}=… and --fifo-share both give the fifo lane's share`,
      );
    inputs = {
      messages: numberOption('messages', values.messages, 1_000_000),
      failureRate: numberOption('failure-rate', values['failure-rate'], DEFAULT_INPUTS.failureRate),
      retryRate: numberOption('retry-rate', values['retry-rate'], DEFAULT_INPUTS.retryRate),
      exhaustedRate: numberOption('exhausted-rate', values['exhausted-rate'], DEFAULT_INPUTS.exhaustedRate),
      batchShare: numberOption('batch-share', values['batch-share'], DEFAULT_INPUTS.batchShare),
      fifoShare:
        lanes.fifoShare ?? numberOption('fifo-share', values['fifo-share'], DEFAULT_INPUTS.fifoShare),
      laneShares: lanes.laneShares,
      messageBytes: numberOption('message-bytes', values['message-bytes'], DEFAULT_INPUTS.messageBytes),
    };
    validateInputs(inputs);
    json = values.json!;
    templatePath = values.template;
  } catch (error) {
    // Name the option, not the model's input field.
    const message = inOptionTerms((error instanceof Error ? error.message : String(error)).split('\n')[0]!);
    console.error(`error: ${message} (see --help)`);
    return 2;
  }
  try {
    const { prices, requests } = loadCostData();
    const template = templatePath ? readJson<CfnTemplate>(templatePath) : synthTemplate(stage);
    const estimate = estimateMonthlyCost(template, inputs, requests, prices);
    const rateLimit = requests.rateLimit && rateLimitExtras(template, requests.rateLimit, prices);
    console.log(
      json
        ? JSON.stringify({ stage, ...estimate, ...(rateLimit ? { rateLimit } : {}) }, null, 2)
        : formatTable(stage, estimate, rateLimit),
    );
    return 0;
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    // Inputs that do not fit the template (a share for a lane it lacks) are a usage error too.
    if (error instanceof CostInputError) {
      console.error(`error: ${inOptionTerms(message)} (see --help)`);
      return 2;
    }
    console.error(`error: ${message}`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
