import type { Resolver } from '../template/resolver';
import type { TemplateResource } from '../template/reader';
import type { InvocationRecord } from './journal';

/**
 * The stage's CloudWatch dashboard drawn from local data: the widgets of the template's
 * `AWS::CloudWatch::Dashboard` resources (their `DashboardBody`), each metric fed by what local
 * mode knows — the functions' embedded-metric-format (EMF) lines, the journal (AWS/Lambda
 * invocations, errors, duration; an event source mapping's invoked records), the queue depths the
 * console samples (AWS/SQS). A metric without a local source is named as such.
 */

/** One metric of a widget, as the dashboard body gives it. */
export interface DashboardMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** CloudWatch statistic (`Sum`, `Maximum`, `p90`…); the widget's, or `Average`. */
  readonly stat: string;
  /** Seconds; the metric's, the widget's, or 300. */
  readonly period: number;
  readonly label: string;
  /** `false` when the widget only uses it inside an expression. */
  readonly visible: boolean;
  readonly id?: string;
}

/** A math expression of a widget (not computed locally: its label is listed). */
export interface DashboardExpression {
  readonly expression: string;
  readonly label: string;
  readonly visible: boolean;
}

/** A widget of the dashboard body. */
export interface DashboardWidget {
  readonly type: 'metric' | 'text' | 'other';
  /** The metric widget's title; a text widget's first line without markdown; else the type. */
  readonly title: string;
  readonly metrics: readonly DashboardMetric[];
  readonly expressions: readonly DashboardExpression[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A text widget's title: its first line, without markdown marks and links' targets. */
function textTitle(markdown: string): string {
  const first = markdown.split('\n').find((l) => l.trim() !== '') ?? '';
  return first
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[#*_`]/g, '')
    .trim();
}

/**
 * Parses a `DashboardBody` (already resolved to a string) into its widgets. Metric arrays follow
 * CloudWatch's syntax: `[namespace, name, dimName, dimValue, …, {options}]`, where `"."` repeats
 * the previous metric's value at that place and `"..."` its values from there on, but for
 * the last ones the metric gives after it; `[{expression}]` is
 * an expression.
 *
 * @throws Error naming what is wrong when the body is not JSON or has no `widgets` array.
 */
export function parseDashboardBody(body: string): DashboardWidget[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw new Error(`DashboardBody is not JSON: ${(e as Error).message}`);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.widgets))
    throw new Error('DashboardBody has no widgets array');
  return parsed.widgets.map((w): DashboardWidget => {
    const type = isRecord(w) && (w.type === 'metric' || w.type === 'text') ? w.type : 'other';
    const p = isRecord(w) && isRecord(w.properties) ? w.properties : {};
    if (type === 'text') {
      const md = typeof p.markdown === 'string' ? p.markdown : '';
      return { type, title: textTitle(md), metrics: [], expressions: [] };
    }
    if (type === 'other')
      return { type, title: String((isRecord(w) && w.type) ?? 'widget'), metrics: [], expressions: [] };
    const widgetStat = typeof p.stat === 'string' ? p.stat : 'Average';
    const widgetPeriod = typeof p.period === 'number' ? p.period : 300;
    const metrics: DashboardMetric[] = [];
    const expressions: DashboardExpression[] = [];
    let previous: unknown[] = [];
    for (const m of Array.isArray(p.metrics) ? p.metrics : []) {
      if (!Array.isArray(m)) continue;
      const last = m[m.length - 1];
      const options = isRecord(last) ? last : {};
      const values = isRecord(last) ? m.slice(0, -1) : [...m];
      if (typeof options.expression === 'string') {
        expressions.push({
          expression: options.expression,
          label: typeof options.label === 'string' ? options.label : options.expression,
          visible: options.visible !== false,
        });
        continue;
      }
      const full: unknown[] = [];
      for (let i = 0; i < values.length; i++) {
        if (values[i] === '...') {
          // The previous metric's values from here, but for the last ones this metric gives.
          const after = values.slice(i + 1);
          full.push(...previous.slice(i, Math.max(i, previous.length - after.length)), ...after);
          break;
        }
        full.push(values[i] === '.' ? previous[i] : values[i]);
      }
      previous = full;
      const [namespace, name, ...dims] = full.map(String);
      if (!namespace || !name) continue;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < dims.length; i += 2) dimensions[dims[i]!] = dims[i + 1]!;
      metrics.push({
        namespace,
        name,
        dimensions,
        stat: typeof options.stat === 'string' ? options.stat : widgetStat,
        period: typeof options.period === 'number' ? options.period : widgetPeriod,
        label: typeof options.label === 'string' ? options.label : name,
        visible: options.visible !== false,
        ...(typeof options.id === 'string' ? { id: options.id } : {}),
      });
    }
    return { type, title: typeof p.title === 'string' ? p.title : '', metrics, expressions };
  });
}

/** The dashboards of a template, their bodies resolved; a body local mode cannot resolve says why. */
export function templateDashboards(
  resources: Iterable<TemplateResource>,
  resolver: Resolver,
): { readonly logicalId: string; readonly widgets: readonly DashboardWidget[]; readonly error?: string }[] {
  return [...resources]
    .filter((r) => r.type === 'AWS::CloudWatch::Dashboard')
    .map((r) => {
      try {
        const body = resolver.resolveString(r.properties.DashboardBody, {
          resource: r.logicalId,
          property: 'DashboardBody',
        });
        return { logicalId: r.logicalId, widgets: parseDashboardBody(body) };
      } catch (e) {
        return { logicalId: r.logicalId, widgets: [], error: (e as Error).message };
      }
    });
}

/** A point of a drawn series: epoch ms of the bucket's start, value. */
export type Point = readonly [number, number];

/** The EMF metric values functions printed, kept per metric and dimensions (bounded). */
export class EmfSeries {
  private readonly series = new Map<string, { t: number; v: number }[]>();

  constructor(private readonly maxPoints = 2000) {}

  /** The key of a metric and its dimensions (dimension order does not matter). */
  static key(namespace: string, name: string, dimensions: Readonly<Record<string, string>>): string {
    const dims = Object.entries(dimensions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return `${namespace}|${name}|${dims}`;
  }

  /** Reads one log line of a function; keeps its values when it is an EMF record. */
  ingest(line: string): void {
    if (!line.startsWith('{') || !line.includes('"_aws"')) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const aws = o._aws;
    if (!isRecord(aws) || !Array.isArray(aws.CloudWatchMetrics)) return;
    const t = typeof aws.Timestamp === 'number' ? aws.Timestamp : Date.now();
    for (const directive of aws.CloudWatchMetrics) {
      if (!isRecord(directive) || typeof directive.Namespace !== 'string') continue;
      const sets = Array.isArray(directive.Dimensions) ? directive.Dimensions : [[]];
      for (const metric of Array.isArray(directive.Metrics) ? directive.Metrics : []) {
        if (!isRecord(metric) || typeof metric.Name !== 'string') continue;
        const raw = o[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        for (const set of sets) {
          if (!Array.isArray(set)) continue;
          const dims: Record<string, string> = {};
          for (const d of set) if (typeof d === 'string') dims[d] = String(o[d] ?? '');
          const key = EmfSeries.key(directive.Namespace, metric.Name, dims);
          const s = this.series.get(key) ?? [];
          for (const v of values) s.push({ t, v });
          if (s.length > this.maxPoints) s.splice(0, s.length - this.maxPoints);
          this.series.set(key, s);
        }
      }
    }
  }

  /** The values of a metric with exactly these dimensions, oldest first; `undefined` if never seen. */
  values(
    namespace: string,
    name: string,
    dimensions: Readonly<Record<string, string>>,
  ): readonly { t: number; v: number }[] | undefined {
    return this.series.get(EmfSeries.key(namespace, name, dimensions));
  }

  /**
   * The values of every series of a metric whose dimension names are exactly `dimensionNames`
   * (what a `SEARCH('{Namespace,dim1,dim2} MetricName="x"')` finds), merged, oldest first.
   */
  search(namespace: string, name: string, dimensionNames: readonly string[]): { t: number; v: number }[] {
    const wanted = [...dimensionNames].sort().join(',');
    const prefix = `${namespace}|${name}|`;
    const out: { t: number; v: number }[] = [];
    for (const [k, values] of this.series) {
      if (!k.startsWith(prefix)) continue;
      const names = k
        .slice(prefix.length)
        .split(',')
        .filter(Boolean)
        .map((d) => d.slice(0, d.indexOf('=')))
        .sort()
        .join(',');
      if (names === wanted) out.push(...values);
    }
    return out.sort((a, b) => a.t - b.t);
  }

  /** Whether any function printed a metric of this namespace and name. */
  has(namespace: string, name: string): boolean {
    const prefix = `${namespace}|${name}|`;
    for (const k of this.series.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }
}

/** The statistic of some values (`Sum`, `Average`, `Maximum`, `Minimum`, `SampleCount`, `pNN`). */
export function statistic(stat: string, values: readonly number[]): number {
  if (values.length === 0) return 0;
  const p = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  if (p) {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((Number(p[1]) / 100) * sorted.length) - 1)]!;
  }
  switch (stat) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'SampleCount':
      return values.length;
    default:
      return values.reduce((a, b) => a + b, 0) / values.length;
  }
}

/** Groups timed values into buckets of `bucketMs` over `[now - windowMs, now]`; empty buckets give 0 for counts, none for gauges. */
export function bucketed(
  values: readonly { t: number; v: number }[],
  stat: string,
  now: number,
  windowMs: number,
  bucketMs: number,
  fillZero: boolean,
): Point[] {
  const start = Math.floor((now - windowMs) / bucketMs) * bucketMs;
  const buckets = new Map<number, number[]>();
  for (const { t, v } of values) {
    if (t < start || t > now) continue;
    const b = Math.floor(t / bucketMs) * bucketMs;
    (buckets.get(b) ?? buckets.set(b, []).get(b)!).push(v);
  }
  const out: Point[] = [];
  for (let b = start; b <= now; b += bucketMs) {
    const vs = buckets.get(b);
    if (vs) out.push([b, statistic(stat, vs)]);
    else if (fillZero) out.push([b, 0]);
  }
  return out;
}

/** A series of a drawn widget. */
export interface DrawnSeries {
  readonly label: string;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** Where local mode took it from. */
  readonly source: string;
  readonly stat: string;
  readonly points: readonly Point[];
}

/** A widget as the console draws it. */
export interface DrawnWidget {
  readonly type: DashboardWidget['type'];
  readonly title: string;
  readonly series: readonly DrawnSeries[];
  /** One line per metric without a local source: `no local source for <namespace> <metric>`. */
  readonly missing: readonly string[];
  /** Labels of the widget's math expressions not computed locally. */
  readonly expressions: readonly string[];
}

/** A `SEARCH('{Namespace,dim…} MetricName="name"', 'Stat', …)` (possibly inside `SUM(…)`). */
const SEARCH = /SEARCH\(\s*'\{([^,}]+)((?:,[^}]*)?)\}\s*MetricName="([^"]+)"'\s*,\s*'(\w+)'/;

/** What local mode knows, as the dashboard reads it. */
export interface DashboardSources {
  readonly emf: EmfSeries;
  readonly journal: () => readonly InvocationRecord[];
  /** Function names (as the template resolves them) → logical ids. */
  readonly functionsByName: ReadonlyMap<string, string>;
  /** Event source mapping ids (as `Ref` resolves them) → the function's logical id. */
  readonly functionsByMapping: ReadonlyMap<string, string>;
  /** Queue names → the console's samples of the queue (oldest first). */
  readonly queueSamples: (
    queueName: string,
  ) =>
    | readonly { t: number; visible: number; inFlight: number; delayed: number; age: number | null }[]
    | undefined;
}

/** Seconds of the window drawn, and of a bucket (local runs are minutes, not hours). */
export const DASHBOARD_WINDOW_MS = 10 * 60_000;
export const DASHBOARD_BUCKET_MS = 10_000;

const SQS_GAUGES = {
  ApproximateNumberOfMessagesVisible: 'visible',
  ApproximateNumberOfMessagesNotVisible: 'inFlight',
  ApproximateNumberOfMessagesDelayed: 'delayed',
  ApproximateAgeOfOldestMessage: 'age',
} as const;

/** One metric drawn from local data, or `undefined` when local mode has no source for it. */
function drawMetric(
  m: DashboardMetric,
  sources: DashboardSources,
  now: number,
): Omit<DrawnSeries, 'label' | 'metric' | 'stat' | 'dimensions'> | undefined {
  const window = (values: { t: number; v: number }[], stat: string, fillZero: boolean) =>
    bucketed(values, stat, now, DASHBOARD_WINDOW_MS, DASHBOARD_BUCKET_MS, fillZero);
  if (m.namespace === 'AWS/SQS' && m.dimensions.QueueName && m.name in SQS_GAUGES) {
    const samples = sources.queueSamples(m.dimensions.QueueName);
    if (!samples) return undefined;
    const field = SQS_GAUGES[m.name as keyof typeof SQS_GAUGES];
    const values = samples.flatMap((s) => (s[field] === null ? [] : [{ t: s.t, v: s[field] }]));
    return { source: 'queue attributes (sampled by the console)', points: window(values, m.stat, false) };
  }
  if (m.namespace === 'AWS/Lambda' && m.dimensions.FunctionName) {
    const fn = sources.functionsByName.get(m.dimensions.FunctionName);
    if (!fn) return undefined;
    const runs = () => sources.journal().filter((r) => r.function === fn);
    const at = (r: InvocationRecord) => Date.parse(r.startedAt);
    if (m.name === 'Invocations')
      return {
        source: 'journal',
        points: window(
          runs().map((r) => ({ t: at(r), v: 1 })),
          'Sum',
          true,
        ),
      };
    if (m.name === 'Errors')
      return {
        source: 'journal',
        points: window(
          runs().map((r) => ({ t: at(r), v: r.error ? 1 : 0 })),
          m.stat === 'Average' ? 'Average' : 'Sum',
          true,
        ),
      };
    if (m.name === 'Duration')
      return {
        source: 'journal',
        points: window(
          runs().map((r) => ({ t: at(r), v: r.durationMs })),
          m.stat,
          false,
        ),
      };
    return undefined;
  }
  if (m.namespace === 'AWS/Lambda' && m.dimensions.EventSourceMappingUUID && m.name === 'InvokedEventCount') {
    const fn = sources.functionsByMapping.get(m.dimensions.EventSourceMappingUUID);
    if (!fn) return undefined;
    const values = sources
      .journal()
      .filter((r) => r.function === fn && r.messageIds.length > 0)
      .map((r) => ({ t: Date.parse(r.startedAt), v: r.messageIds.length }));
    return { source: "journal (its function's records)", points: window(values, 'Sum', true) };
  }
  if (!m.namespace.startsWith('AWS/')) {
    const values = sources.emf.values(m.namespace, m.name, m.dimensions);
    if (values) return { source: 'EMF', points: window([...values], m.stat, true) };
    // Not printed yet: a custom metric's source is its function's log output (drawn as zeros).
    return { source: 'EMF (none printed yet)', points: window([], m.stat, true) };
  }
  return undefined;
}

/** Draws the widgets from local data at `now`. */
export function drawDashboard(
  widgets: readonly DashboardWidget[],
  sources: DashboardSources,
  now = Date.now(),
): DrawnWidget[] {
  return widgets.map((w) => {
    const series: DrawnSeries[] = [];
    const missing: string[] = [];
    for (const m of w.metrics) {
      const drawn = drawMetric(m, sources, now);
      if (!drawn) {
        const line = `no local source for ${m.namespace} ${m.name}`;
        if (!missing.includes(line)) missing.push(line);
      } else {
        // A metric only used by an expression is drawn under its own label (expressions are not computed).
        series.push({
          label: m.label,
          metric: `${m.namespace} ${m.name}`,
          dimensions: m.dimensions,
          stat: m.stat,
          ...drawn,
        });
      }
    }
    // A SEARCH over a custom namespace: every EMF series it finds, summed (as SUM(SEARCH(…)) does).
    const expressions: string[] = [];
    for (const e of w.expressions.filter((x) => x.visible)) {
      const found = SEARCH.exec(e.expression);
      if (!found || found[1]!.startsWith('AWS/')) {
        expressions.push(e.label);
        continue;
      }
      const [, namespace, dims, name, stat] = found as unknown as [string, string, string, string, string];
      const dimensionNames = dims
        .split(',')
        .map((d) => d.trim().replace(/^"|"$/g, ''))
        .filter(Boolean);
      series.push({
        label: e.label,
        metric: `${namespace} ${name}`,
        dimensions: {},
        stat,
        source: 'EMF (search)',
        points: bucketed(
          sources.emf.search(namespace, name, dimensionNames),
          'Sum',
          now,
          DASHBOARD_WINDOW_MS,
          DASHBOARD_BUCKET_MS,
          true,
        ),
      });
    }
    return { type: w.type, title: w.title, series, missing, expressions };
  });
}
