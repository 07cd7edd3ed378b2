/**
 * `npm run cost -- [--stage prod] [--messages 10000000] [--failure-rate 0.01] [--json]`: the
 * monthly cost of a stage, from its synthesized template (through the project's CDK CLI, into
 * `cdk.out.cost/`), cost/requests-per-message.json and cost/prices.us-east-1.json.
 *
 * Exit codes: 0 estimate printed, 1 failure (synth failed, template unreadable), 2 usage error.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isStageName, STAGE_NAMES } from '../app/stages';
import {
  DEFAULT_INPUTS,
  estimateMonthlyCost,
  type CfnTemplate,
  type CostEstimate,
  type CostInputs,
  type Prices,
  type RequestsPerMessage,
  validateInputs,
} from './model';

const ROOT = join(__dirname, '..');
/** The cloud assembly directory of this command, apart from `cdk.out/`. */
export const COST_OUTDIR = 'cdk.out.cost';

const USAGE =
  'usage: npm run cost -- [--stage dev|staging|prod|local] [--messages N] [--failure-rate R] [--retry-rate R] ' +
  '[--exhausted-rate R] [--batch-share R] [--fifo-share R] [--message-bytes N] [--template FILE] [--json]';

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

/** The estimate as a text table. */
export function formatTable(stage: string, e: CostEstimate): string {
  const rows = e.lines.map((l) => [l.service, l.item, `${qty(l.quantity)} ${l.unit}`, usd(l.usd)]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), 8));
  const pad = (r: string[]) =>
    `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padStart(widths[2]!)}  ${r[3]!.padStart(10)}`;
  const total = `${'total'.padEnd(widths[0]! + widths[1]! + widths[2]! + 4)}  ${usd(e.totalUsd).padStart(10)}`;
  const i = e.inputs;
  return [
    `EventPipeline-${stage}: ${i.messages.toLocaleString('en-US')} messages/month, permanent failures ${i.failureRate}, ` +
      `retried ${i.retryRate}, exhausted ${i.exhaustedRate}, batch POSTs ${i.batchShare}, FIFO ${i.fifoShare}, ${i.messageBytes} B`,
    `prices ${e.region} as of ${e.pricesTakenOn}; requests per message: ${e.requestsStatus}`,
    '',
    pad(['service', 'item', 'quantity', 'USD/month']),
    ...rows.map(pad),
    total,
    `per million messages: ${usd(e.usdPerMillionMessages)} USD`,
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
    inputs = {
      messages: numberOption('messages', values.messages, 1_000_000),
      failureRate: numberOption('failure-rate', values['failure-rate'], DEFAULT_INPUTS.failureRate),
      retryRate: numberOption('retry-rate', values['retry-rate'], DEFAULT_INPUTS.retryRate),
      exhaustedRate: numberOption('exhausted-rate', values['exhausted-rate'], DEFAULT_INPUTS.exhaustedRate),
      batchShare: numberOption('batch-share', values['batch-share'], DEFAULT_INPUTS.batchShare),
      fifoShare: numberOption('fifo-share', values['fifo-share'], DEFAULT_INPUTS.fifoShare),
      messageBytes: numberOption('message-bytes', values['message-bytes'], DEFAULT_INPUTS.messageBytes),
    };
    validateInputs(inputs);
    json = values.json!;
    templatePath = values.template;
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error))
      .split('\n')[0]!
      // Name the option, not the model's input field.
      .replace(
        /^(\w+) must/,
        (_, k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must`,
      );
    console.error(`error: ${message} (see --help)`);
    return 2;
  }
  try {
    const { prices, requests } = loadCostData();
    const template = templatePath ? readJson<CfnTemplate>(templatePath) : synthTemplate(stage);
    const estimate = estimateMonthlyCost(template, inputs, requests, prices);
    console.log(json ? JSON.stringify({ stage, ...estimate }, null, 2) : formatTable(stage, estimate));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message.split('\n')[0]}`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
