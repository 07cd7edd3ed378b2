// The local console's page script (plain JavaScript, served as is: no build step, no download).
// It renders what local mode pushes on /_local/console/events (Server-Sent Events) and asks
// /_local/invocations and /_local/console/message for the rest. Every value is set as text
// (textContent), never as HTML.
/* global document, window, EventSource, HTMLDialogElement, CSS */

const $ = (selector) => document.querySelector(selector);
const token = document.querySelector('meta[name="console-token"]')?.getAttribute('content') ?? '';
const SVG = 'http://www.w3.org/2000/svg';
/** The journal view: a row's height (px), rows drawn beyond the view, rows asked for at once. */
const ROW_H = 26;
const OVERSCAN = 10;
const PAGE = 120;
const MAX_HISTORY = 600;

const state = {
  dashboardTicks: 0,
  model: null,
  snapshot: null,
  history: {},
  /** The journal view's window: `records` (newest first) are rows `base`… of `total` matching. */
  journal: { total: 0, base: 0, records: [], note: '', loading: false, again: false },
  journalLength: 0,
  filters: { function: '', outcome: '', messageId: '' },
  /** The id whose life is shown, refreshed on each push. */
  watching: null,
  fetchingLife: false,
};

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : '–');
const age = (s) =>
  s === null || s === undefined ? '–' : s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
const outcomeOf = (r) => (r.error === null && r.batchItemFailures.length === 0 ? 'ok' : 'failed');

// ---------------------------------------------------------------- topology

function part(id, kind, title, fields) {
  return el(
    'div',
    { class: 'part', 'data-part': id, role: 'group', 'aria-label': `${kind} ${title}` },
    el('div', { class: 'kind', text: kind }),
    el('h3', { text: title }),
    el(
      'dl',
      {},
      fields.flatMap(([key, label]) => [
        el('dt', { text: label }),
        el('dd', { 'data-field': key, text: '–' }),
      ]),
    ),
  );
}
const arrow = () => el('span', { class: 'arrow', 'aria-hidden': 'true', text: '→' });
const FN_FIELDS = [
  ['in', 'in'],
  ['inFlight', 'in flight'],
  ['failed', 'failed'],
];

function renderTopology() {
  const m = state.model;
  const view = $('#topology-view');
  view.replaceChildren();
  const producers = [...new Set(m.routes.map((r) => r.functionId))];
  view.append(
    el(
      'div',
      { class: 'row' },
      el(
        'div',
        { class: 'part', role: 'group', 'aria-label': 'API routes' },
        el('div', { class: 'kind', text: 'API routes' }),
        el(
          'ul',
          {},
          m.routes.map((r) =>
            el('li', {}, el('code', { text: `${r.method} ${r.path}` }), ` → ${r.functionId}`),
          ),
        ),
      ),
      arrow(),
      producers.map((f) => part(`fn:${f}`, 'function', f, FN_FIELDS)),
      arrow(),
      el('span', { class: 'arrow', text: `${m.lanes.length} lane${m.lanes.length === 1 ? '' : 's'}` }),
    ),
  );
  for (const lane of m.lanes) {
    view.append(
      el(
        'div',
        { class: 'row', 'data-lane': lane.name },
        part(`q:${lane.queue}`, `lane ${lane.name}${lane.fifo ? ' (FIFO)' : ''}: queue`, lane.queue, [
          ['visible', 'visible'],
          ['inFlight', 'in flight'],
          ['delayed', 'delayed'],
          ['scheduled', 'scheduled'],
          ['deferred', 'deferred'],
        ]),
        arrow(),
        lane.consumers.map((f) => part(`fn:${f}`, 'consumer', f, FN_FIELDS)),
        arrow(),
        part(`q:${lane.dlq}`, 'DLQ', lane.dlq, [
          ['depth', 'dead-lettered'],
          ['oldest', 'oldest'],
        ]),
      ),
    );
  }
  const alarmList = el(
    'ul',
    { 'data-part': 'alarms' },
    m.alarms.map((a) => el('li', { 'data-alarm-id': a.id }, a.name)),
  );
  view.append(
    el(
      'div',
      { class: 'row' },
      m.buckets.map((b) => part(`bucket:${b.id}`, 'failure archive (S3)', b.id, [['records', 'records']])),
      m.tables.map((t) => part(`table:${t.id}`, 'status table (DynamoDB)', t.id, [])),
      m.schedules.map((s) =>
        part(`fn:${s.targets[0]}`, `schedule ${s.expression}`, s.targets.join(', '), FN_FIELDS),
      ),
      (m.streams ?? []).map((s) =>
        part(`fn:${s.functionId}`, `stream of ${s.table} (outbox)`, s.functionId, FN_FIELDS),
      ),
      (m.eventRules ?? []).map((r) => part(`rule:${r.id}`, `rule on bus ${r.bus}`, r.targets.join(', '), [])),
      el(
        'div',
        { class: 'part', role: 'group', 'aria-label': 'alarms' },
        el('div', { class: 'kind', text: 'alarms' }),
        alarmList,
      ),
    ),
  );
}

function setField(partId, key, value) {
  for (const p of document.querySelectorAll(`[data-part="${CSS.escape(partId)}"]`)) {
    const dd = p.querySelector(`[data-field="${key}"]`);
    if (dd && dd.textContent !== String(value)) dd.textContent = String(value);
  }
}

function updateTopology(s) {
  for (const [id, c] of Object.entries(s.functions)) {
    setField(`fn:${id}`, 'in', c.messages || c.invocations);
    setField(`fn:${id}`, 'inFlight', c.active);
    setField(`fn:${id}`, 'failed', c.messages ? c.failedMessages : c.failedInvocations);
  }
  for (const [id, q] of Object.entries(s.queues)) {
    setField(`q:${id}`, 'visible', q.visible);
    setField(`q:${id}`, 'inFlight', q.inFlight);
    setField(`q:${id}`, 'delayed', q.delayed);
    setField(`q:${id}`, 'depth', q.visible + q.inFlight + q.delayed);
    setField(`q:${id}`, 'oldest', age(q.oldestAgeSeconds));
  }
  for (const b of state.model.buckets) setField(`bucket:${b.id}`, 'records', s.archive.objects ?? '–');
  for (const lane of state.model.lanes) {
    const w = s.waiting?.lanes[lane.name];
    setField(`q:${lane.queue}`, 'scheduled', w ? w.scheduled : '–');
    setField(`q:${lane.queue}`, 'deferred', w ? w.deferred : '–');
  }
  for (const lane of state.model.lanes) {
    const q = s.queues[lane.dlq];
    const p = document.querySelector(`[data-part="${CSS.escape(`q:${lane.dlq}`)}"]`);
    if (p && q) p.dataset.hot = String(q.visible + q.inFlight + q.delayed > 0);
  }
  for (const a of s.alarms) {
    const li = document.querySelector(`[data-alarm-id="${CSS.escape(a.logicalId)}"]`);
    if (li) {
      li.dataset.alarm = a.state;
      li.textContent = `${a.name}: ${a.state}`;
    }
  }
}

// ---------------------------------------------------------------- queues

function spark(samples) {
  const w = 160;
  const h = 32;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('role', 'img');
  const max = Math.max(1, ...samples.map((x) => x.visible + x.inFlight + x.delayed));
  const minutes = samples.length ? Math.max(1, Math.round((samples.at(-1).t - samples[0].t) / 60000)) : 0;
  const peak = Math.max(0, ...samples.map((x) => x.processed ?? 0));
  svg.setAttribute(
    'aria-label',
    `depth over the last ${minutes} min, at most ${max}${peak ? `; at most ${peak} processed per sample` : ''}`,
  );
  const line = (value, cls, top = max) => {
    const pl = document.createElementNS(SVG, 'polyline');
    const n = samples.length;
    pl.setAttribute(
      'points',
      samples
        .map(
          (x, i) =>
            `${n < 2 ? 0 : ((i / (n - 1)) * w).toFixed(1)},${(h - 1 - (value(x) / top) * (h - 2)).toFixed(1)}`,
        )
        .join(' '),
    );
    if (cls) pl.setAttribute('class', cls);
    return pl;
  };
  svg.append(
    line((x) => x.visible + x.inFlight + x.delayed),
    line((x) => x.inFlight, 'inflight'),
  );
  if (peak) svg.append(line((x) => x.processed ?? 0, 'processed', peak));
  return svg;
}

function processedLastMinute(id, now) {
  return (state.history[id] ?? [])
    .filter((x) => x.t > now - 60_000)
    .reduce((n, x) => n + (x.processed ?? 0), 0);
}

function renderQueues(s) {
  const rows = state.model.queues.map((q) => {
    const d = s.queues[q.id] ?? { visible: 0, inFlight: 0, delayed: 0, oldestAgeSeconds: null };
    return el(
      'tr',
      { 'data-queue': q.id },
      el('th', { scope: 'row' }, el('span', { text: q.id }), el('div', { class: 'muted id', text: q.name })),
      el('td', { text: q.lane ?? '–' }),
      el('td', { text: q.role }),
      el('td', { class: 'num', 'data-field': 'visible', text: d.visible }),
      el('td', { class: 'num', 'data-field': 'inFlight', text: d.inFlight }),
      el('td', { class: 'num', 'data-field': 'delayed', text: d.delayed }),
      el('td', { class: 'num', 'data-field': 'oldest', text: age(d.oldestAgeSeconds) }),
      ...['scheduled', 'deferred'].map((k) =>
        el('td', {
          class: 'num',
          'data-field': k,
          text: q.role === 'queue' && q.lane && s.waiting ? (s.waiting.lanes[q.lane]?.[k] ?? 0) : '–',
        }),
      ),
      el('td', {
        class: 'num',
        'data-field': 'processed',
        text: q.role === 'queue' ? processedLastMinute(q.id, s.t) : '–',
      }),
      el('td', {}, spark(state.history[q.id] ?? [])),
    );
  });
  $('#queue-table tbody').replaceChildren(...rows);
  $('#waiting-note').textContent = s.waiting
    ? `Scheduled and deferred: status rows per lane, counted at ${time(new Date(s.waiting.t).toISOString())} (a scan of ${s.waiting.scannedRows} rows, every 5 s).`
    : 'Scheduled and deferred: not counted yet.';
}

// ---------------------------------------------------------------- a message's life

async function refreshLife() {
  if (!state.watching || state.fetchingLife) return;
  state.fetchingLife = true;
  const id = state.watching;
  try {
    const res = await fetch(`/_local/console/message?id=${encodeURIComponent(id)}`);
    const body = await res.json();
    if (state.watching !== id) return;
    renderLife(res.status, body);
  } catch (error) {
    $('#message-result').replaceChildren(
      el('p', { 'data-tone': 'failed', text: `could not look ${id} up: ${error.message}` }),
    );
  } finally {
    state.fetchingLife = false;
  }
}

function renderLife(status, body) {
  const out = $('#message-result');
  if (status !== 200) {
    out.replaceChildren(el('p', { 'data-tone': 'failed', text: body.error?.message ?? `HTTP ${status}` }));
    return;
  }
  const s = body.status;
  const summary = el(
    'p',
    {},
    'Envelope id ',
    el('code', { text: body.envelopeId ?? 'unknown' }),
    s ? ' · status ' : '',
    s
      ? el('strong', {
          id: 'message-status',
          'data-status': s.status,
          'data-tone': s.status === 'succeeded' ? 'ok' : s.status === 'failed' ? 'failed' : 'info',
          text: s.status,
        })
      : '',
    s ? ` · ${s.attempts} run${s.attempts === 1 ? '' : 's'} · lane ${s.lane} · type ${s.type}` : '',
  );
  const ids = el(
    'p',
    { class: 'muted' },
    'SQS message ids: ',
    body.messageIds.map((m, i) => [i ? ', ' : '', el('code', { text: m })]),
  );
  const list = el(
    'ol',
    { class: 'timeline', id: 'timeline', 'aria-label': 'timeline' },
    body.events.map((e) =>
      el(
        'li',
        { 'data-kind': e.kind, 'data-tone': e.tone },
        e.at ? el('time', { datetime: e.at, text: time(e.at) }) : el('time', { text: 'now' }),
        el('strong', { text: e.title }),
        e.detail.length
          ? el(
              'div',
              { class: 'detail' },
              e.detail.map((d, i) => [i ? ' · ' : '', d]),
            )
          : '',
      ),
    ),
  );
  out.replaceChildren(summary, ids, ...outcomeParts(body), transitionList(body), list);
}

const SOURCES = {
  row: 'from the status row',
  journal: 'timed by the journal',
  derived: "derived: the journal's outcome and the row's counts",
};

/** Each status transition the console can know, with where it comes from. */
function transitionList(body) {
  if (!body.transitions?.length) return '';
  return el(
    'div',
    {},
    el('h3', { text: 'Status transitions' }),
    el(
      'ol',
      { class: 'timeline', id: 'transitions', 'aria-label': 'status transitions' },
      body.transitions.map((t) =>
        el(
          'li',
          { 'data-state': t.state, 'data-source': t.source },
          t.at ? el('time', { datetime: t.at, text: time(t.at) }) : '',
          el('strong', { text: t.state }),
          ` · ${SOURCES[t.source]}`,
          el('div', { class: 'detail', text: t.messageId ? `${t.how} · message id ${t.messageId}` : t.how }),
        ),
      ),
    ),
  );
}

/** A link that opens another message's life in this view. */
function messageLink(id) {
  return el('a', { href: `#message=${encodeURIComponent(id)}`, 'data-open-id': id, text: id });
}

/** The message's result, its family (parent and children) and its completion events. */
function outcomeParts(body) {
  const s = body.status;
  const parts = [];
  if (s?.status === 'succeeded') {
    const r = body.result;
    parts.push(
      r?.kind === 'inline'
        ? el(
            'div',
            { id: 'message-output' },
            el('p', { text: 'Result:' }),
            el('pre', { id: 'message-result-value', text: JSON.stringify(r.value, null, 2) }),
          )
        : r?.kind === 'stored'
          ? el(
              'p',
              { id: 'message-output' },
              'Result: ',
              el('span', { id: 'message-result-bytes', text: `${r.bytes} bytes` }),
              ' in the result bucket, at ',
              el('code', { id: 'message-result-url', text: r.url }),
              ' (the API, with its credentials)',
            )
          : el('p', { id: 'message-output', class: 'muted', text: 'No result (the handler returned none).' }),
    );
  }
  if (body.correlationId || body.parentId || body.children.length) {
    parts.push(
      el(
        'p',
        { id: 'message-family' },
        body.correlationId ? ['Correlation id ', el('code', { text: body.correlationId })] : '',
        body.parentId
          ? [
              body.correlationId ? ' · ' : '',
              'parent ',
              el('span', { id: 'message-parent' }, messageLink(body.parentId)),
            ]
          : '',
        body.children.length
          ? [
              body.correlationId || body.parentId ? ' · ' : '',
              `${body.children.length} child${body.children.length === 1 ? '' : 'ren'}: `,
              el(
                'span',
                { id: 'message-children' },
                body.children.map((c, i) => [i ? ', ' : '', messageLink(c)]),
              ),
            ]
          : '',
      ),
    );
  }
  if (s?.status === 'succeeded' || s?.status === 'failed' || body.completionEvents.length) {
    parts.push(
      body.completionEvents.length
        ? el(
            'ul',
            { id: 'message-events', 'aria-label': 'completion events' },
            body.completionEvents.map((e) =>
              el(
                'li',
                { 'data-event-id': e.eventId ?? '', 'data-detail-type': e.detailType },
                el('time', { datetime: e.at, text: time(e.at) }),
                ' ',
                el('strong', { text: e.detailType }),
                ` on ${e.bus} · event id `,
                el('code', { text: e.eventId ?? '–' }),
                ' · EventBridge id ',
                el('code', { text: e.eventBridgeId }),
                e.logGroups.length ? ` · logged to ${e.logGroups.join(', ')}` : '',
              ),
            ),
          )
        : el('p', { id: 'message-events', class: 'muted', text: 'No completion event yet.' }),
    );
  }
  return parts;
}

/** Opens message `id` in the message view (a parent's or child's link). */
function openMessage(id) {
  $('#message-id').value = id;
  state.watching = id;
  $('#message-result').replaceChildren(el('p', { class: 'muted', text: `looking ${id} up…` }));
  void refreshLife();
}

// ---------------------------------------------------------------- send

/** The stack's job types (`GET /_local/console/types`), by type. */
const jobTypes = new Map();

const kindOf = (v) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const FORMATS = {
  'date-time': (v) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(v) && !isNaN(Date.parse(v)),
  date: (v) => /^\d{4}-\d\d-\d\d$/.test(v) && !isNaN(Date.parse(v)),
  email: (v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v),
  uri: (v) => URL.canParse(v),
  uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
};

/**
 * The JSON Schema (draft-07) keywords the job types' schemas use, checked in the page: type,
 * enum, const, $ref (local), anyOf/oneOf/allOf, properties, required, additionalProperties,
 * propertyNames, items, string and number bounds, pattern, format. Unknown keywords are left to
 * the API, whose validator is the whole of Ajv. Pushes one line per error, naming its field.
 */
function check(schema, v, at, root, errors) {
  if (schema === undefined || schema === true) return;
  if (schema === false) return void errors.push(`${at} is not allowed`);
  if (schema.$ref) {
    const target = schema.$ref.startsWith('#/')
      ? schema.$ref
          .slice(2)
          .split('/')
          .reduce((o, k) => o?.[k.replaceAll('~1', '/').replaceAll('~0', '~')], root)
      : undefined;
    check(target, v, at, root, errors);
  }
  const passes = (s) => {
    const e = [];
    check(s, v, at, root, e);
    return e.length === 0;
  };
  if (schema.anyOf && !schema.anyOf.some(passes)) errors.push(`${at} matches none of the forms it may take`);
  if (schema.oneOf && schema.oneOf.filter(passes).length !== 1)
    errors.push(`${at} must match exactly one of the forms it may take`);
  for (const s of schema.allOf ?? []) check(s, v, at, root, errors);
  const kind = kindOf(v);
  if (schema.type) {
    const types = [].concat(schema.type);
    if (!types.some((t) => t === kind || (t === 'number' && kind === 'integer')))
      return void errors.push(`${at} must be ${types.join(' or ')}`);
  }
  if ('const' in schema && !same(v, schema.const))
    errors.push(`${at} must be ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.some((e) => same(e, v)))
    errors.push(`${at} must be one of: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  if (kind === 'string') {
    const n = [...v].length;
    if (schema.minLength !== undefined && n < schema.minLength)
      errors.push(`${at} must have at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && n > schema.maxLength)
      errors.push(`${at} must have at most ${schema.maxLength} characters`);
    if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format](v))
      errors.push(`${at} must be a ${schema.format}`);
    else if (schema.pattern && !new RegExp(schema.pattern, 'u').test(v))
      errors.push(`${at} must match ${schema.pattern}`);
  }
  if (kind === 'integer' || kind === 'number') {
    if (schema.minimum !== undefined && v < schema.minimum) errors.push(`${at} must be ≥ ${schema.minimum}`);
    if (schema.maximum !== undefined && v > schema.maximum) errors.push(`${at} must be ≤ ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && v <= schema.exclusiveMinimum)
      errors.push(`${at} must be > ${schema.exclusiveMinimum}`);
    if (typeof schema.exclusiveMaximum === 'number' && v >= schema.exclusiveMaximum)
      errors.push(`${at} must be < ${schema.exclusiveMaximum}`);
  }
  if (kind === 'array') {
    if (schema.minItems !== undefined && v.length < schema.minItems)
      errors.push(`${at} must have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && v.length > schema.maxItems)
      errors.push(`${at} must have at most ${schema.maxItems} items`);
    v.forEach((x, i) =>
      check(Array.isArray(schema.items) ? schema.items[i] : schema.items, x, `${at}[${i}]`, root, errors),
    );
  }
  if (kind === 'object') {
    for (const k of schema.required ?? []) if (!(k in v)) errors.push(`${at}.${k} is required`);
    for (const [k, x] of Object.entries(v)) {
      if (schema.propertyNames)
        check(schema.propertyNames, k, `${at} key ${JSON.stringify(k)}`, root, errors);
      if (schema.properties && k in schema.properties)
        check(schema.properties[k], x, `${at}.${k}`, root, errors);
      else if (schema.additionalProperties === false) errors.push(`${at}.${k} is not allowed`);
      else check(schema.additionalProperties, x, `${at}.${k}`, root, errors);
    }
  }
}

/** A starting payload: each required property's default, first enum value or an empty value. */
function example(schema) {
  const out = {};
  for (const k of schema.required ?? []) {
    const p = schema.properties?.[k] ?? {};
    out[k] =
      p.default ??
      p.enum?.[0] ??
      { string: '', integer: p.minimum ?? 0, number: p.minimum ?? 0, boolean: false, array: [], object: {} }[
        [].concat(p.type)[0]
      ] ??
      null;
  }
  return out;
}

function showType() {
  const t = jobTypes.get($('#send-type').value);
  if (!t) return;
  $('#send-type-info').textContent =
    `${t.description || t.type} · lane ${t.lane}${t.ordered ? ' · ordered (give an ordering key)' : ''}`;
  $('#send-schema').textContent = JSON.stringify(t.schema, null, 2);
  $('#send-payload').value = JSON.stringify(example(t.schema), null, 2);
  $('#send-payload').removeAttribute('aria-invalid');
}

async function loadTypes() {
  const res = await fetch('/_local/console/types');
  const body = await res.json();
  for (const t of body.types) jobTypes.set(t.type, t);
  $('#send-type').replaceChildren(...body.types.map((t) => el('option', { value: t.type, text: t.type })));
  if (!body.types.length) $('#send-type-info').textContent = body.note ?? 'no job types';
  showType();
}

function sendRefused(lines) {
  $('#send-payload').setAttribute('aria-invalid', 'true');
  $('#send-result').replaceChildren(
    el('p', {
      id: 'send-error',
      'data-tone': 'failed',
      text: 'Not sent: the payload does not match the schema.',
    }),
    el(
      'ul',
      { id: 'send-errors' },
      lines.map((l) => el('li', { text: l })),
    ),
  );
}

/** The fields an API error names (`field`, or each of its `details`). */
function fieldsOf(error) {
  const fields = [...new Set([error.field, ...(error.details ?? []).map((d) => d.field)].filter(Boolean))];
  return fields.length ? ` (field${fields.length === 1 ? '' : 's'} ${fields.join(', ')})` : '';
}

async function send() {
  const t = jobTypes.get($('#send-type').value);
  if (!t) return;
  let payload;
  try {
    payload = JSON.parse($('#send-payload').value);
  } catch (error) {
    return sendRefused([`payload is not JSON: ${error.message}`]);
  }
  const errors = [];
  check(t.schema, payload, 'payload', t.schema, errors);
  const notBefore = $('#send-not-before').value.trim();
  if (notBefore && !FORMATS['date-time'](notBefore)) errors.push('notBefore must be an ISO 8601 date-time');
  if (errors.length) return sendRefused(errors);
  $('#send-payload').removeAttribute('aria-invalid');
  const input = { type: t.type, payload };
  for (const [k, id] of [
    ['orderingKey', '#send-ordering-key'],
    ['notBefore', '#send-not-before'],
    ['idempotencyKey', '#send-idempotency-key'],
  ]) {
    const v = $(id).value.trim();
    if (v) input[k] = v;
  }
  const out = $('#send-result');
  out.replaceChildren(el('p', { text: `sending ${t.type}…` }));
  const res = await fetch('/_local/console/actions/send', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-console-token': token },
    body: JSON.stringify(input),
  });
  const answer = await res.json();
  if (!res.ok) {
    out.replaceChildren(
      el('p', {
        'data-tone': 'failed',
        id: 'send-answer',
        text: `refused: ${answer.error?.message ?? res.status}`,
      }),
    );
    return;
  }
  const b = answer.body;
  const ok = answer.status >= 200 && answer.status < 300;
  out.replaceChildren(
    el(
      'p',
      { id: 'send-answer', 'data-status': answer.status, 'data-tone': ok ? 'ok' : 'failed' },
      el('strong', { text: `HTTP ${answer.status}` }),
      ok && b?.id ? [' · id ', el('span', { id: 'send-id' }, messageLink(b.id))] : '',
      !ok && b?.error ? ` · ${b.error.message}${fieldsOf(b.error)}` : '',
    ),
    el('pre', { text: typeof b === 'string' ? b : JSON.stringify(b, null, 2) }),
  );
}

// ---------------------------------------------------------------- invocations

function filterQuery() {
  const q = new URLSearchParams();
  if (state.filters.function) q.set('function', state.filters.function);
  if (state.filters.outcome) q.set('outcome', state.filters.outcome);
  return q;
}

const filtered = () => Boolean(state.filters.function || state.filters.outcome || state.filters.messageId);

/** Rows of the journal view in the page's height (the rest is scrolled to: a virtualized list). */
function visibleRange() {
  const box = $('#journal-scroll');
  const first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - OVERSCAN);
  const count = Math.ceil(Math.max(box.clientHeight, 600) / ROW_H) + 2 * OVERSCAN;
  return [first, Math.min(state.journal.total, first + count)];
}

/**
 * Asks the server for the rows around the scroll position (`offset` newest skipped, `PAGE` rows):
 * the journal's 50,000 records stay on the server, filtered there; the page holds one window.
 */
async function fetchJournal() {
  const j = state.journal;
  if (j.loading) {
    // The newest filters and scroll position win: asked again once the answer in flight is in.
    j.again = true;
    return;
  }
  j.loading = true;
  j.again = false;
  try {
    const [first] = visibleRange();
    const offset = Math.max(0, first - OVERSCAN);
    const q = filterQuery();
    if (state.filters.messageId) q.set('id', state.filters.messageId);
    q.set('offset', String(offset));
    q.set('limit', String(PAGE));
    const res = await fetch(`/_local/console/invocations?${q}`);
    const body = await res.json();
    j.base = offset;
    j.note = res.ok
      ? body.by === 'envelopeId'
        ? '(by envelope id)'
        : ''
      : (body.error?.message ?? `HTTP ${res.status}`);
    j.total = res.ok ? body.total : 0;
    j.records = res.ok ? body.records.slice().reverse() : [];
  } finally {
    j.loading = false;
  }
  if (j.again) return fetchJournal();
  renderJournal();
}

function journalRow(r, i) {
  const outcome = outcomeOf(r);
  const ids = r.messageIds.join(' ') || '–';
  const error = r.error ? `${r.error.name}: ${r.error.message}` : '';
  return el(
    'tr',
    { 'data-function': r.function, 'data-outcome': outcome, 'aria-rowindex': i + 2 },
    el('td', {}, el('time', { datetime: r.startedAt, text: time(r.startedAt) })),
    el('td', { text: r.function, title: r.function }),
    el('td', { class: 'num', text: `${r.durationMs} ms` }),
    el('td', {
      'data-tone': outcome === 'ok' ? 'ok' : 'failed',
      text: outcome === 'ok' ? 'ok' : r.error ? 'error' : `${r.batchItemFailures.length} failed`,
    }),
    el('td', { class: 'id', text: ids, title: ids }),
    el('td', { text: error, title: error || undefined }),
  );
}

/** Draws the rows in view (newest first), placed where they are in the whole list. */
function renderJournal() {
  const j = state.journal;
  const [a, b] = visibleRange();
  const rows = [];
  for (let i = a; i < b; i++) {
    const r = j.records[i - j.base];
    if (r) rows.push(journalRow(r, i));
  }
  $('#journal-sizer').style.height = `${j.total * ROW_H + ROW_H}px`;
  const table = $('#invocation-table');
  table.style.top = `${a * ROW_H}px`;
  table.setAttribute('aria-rowcount', String(j.total + 1));
  $('#journal-count').textContent = filtered()
    ? `${j.total} matching${j.note ? ` ${j.note}` : ''} · ${state.journalLength} in the journal`
    : `${state.journalLength} in the journal · ${rows.length ? `${a + 1}–${a + rows.length}` : 'none'} shown, newest first (scroll for older)`;
  $('#invocation-table tbody').replaceChildren(...rows);
  // Scrolled past the window the page holds: the rows there.
  if (b > a && (a < j.base || b > j.base + j.records.length) && !j.loading) void fetchJournal();
}

// ---------------------------------------------------------------- DLQs

function confirmAction(verb, text) {
  const dialog = $('#confirm-dialog');
  $('#confirm-title').textContent = `${verb}?`;
  $('#confirm-button').textContent = verb;
  $('#confirm-text').textContent = text;
  if (!(dialog instanceof HTMLDialogElement) || !dialog.showModal)
    return Promise.resolve(window.confirm(text));
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    $('#confirm-button').focus();
  });
}

const ACTIONS = {
  redrive: {
    verb: 'Redrive',
    ask: (what, lane) => `Move ${what} back to ${lane ? `lane ${lane}'s queue` : 'its queue'}?`,
    summary: (b) =>
      `redrive: ${b.moved} moved, ${b.failed} failed, ${b.skipped} skipped${b.unmatchedIds.length ? `; not in a DLQ: ${b.unmatchedIds.join(', ')}` : ''}`,
  },
  replay: {
    verb: 'Replay',
    ask: (what) =>
      `Send ${what} again from its archive record (its DLQ copy is deleted once the replay is accepted)?`,
    summary: (b) =>
      `replay: ${b.replayed} replayed, ${b.failed} failed, ${b.skipped} skipped${b.unmatchedIds.length ? `; not archived: ${b.unmatchedIds.join(', ')}` : ''}`,
  },
  purge: {
    verb: 'Purge',
    ask: (what) =>
      `Delete ${what}? Each one has an archive record, which stays (ops purge refuses otherwise).`,
    summary: (b) =>
      `purge of ${b.queue}: ${b.purged} deleted${b.unread ? `, ${b.unread} not read (they stay)` : ''}`,
  },
};

async function act(action, input, what) {
  const a = ACTIONS[action];
  if (!(await confirmAction(a.verb, a.ask(what, input.lane)))) return;
  const out = $('#dlq-result');
  out.replaceChildren(el('p', { text: `${action}: ${what}…` }));
  const res = await fetch(`/_local/console/actions/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-console-token': token },
    body: JSON.stringify(input),
  });
  const body = await res.json();
  if (!res.ok) {
    out.replaceChildren(
      el('p', {
        'data-tone': 'failed',
        id: 'action-summary',
        text: `${action} refused: ${body.error?.message ?? res.status}`,
      }),
    );
    return;
  }
  out.replaceChildren(
    el('p', { 'data-tone': body.failed ? 'failed' : 'ok', id: 'action-summary', text: a.summary(body) }),
    el(
      'ul',
      {},
      (body.items ?? []).map((i) =>
        el('li', {
          class: 'id',
          text: `${i.envelopeId ?? i.messageId}: ${i.outcome}${i.newMessageId ? ` → ${i.newMessageId}` : ''}${i.error || i.detail ? ` (${i.error ?? i.detail})` : ''}`,
        }),
      ),
    ),
  );
}

function renderDlqs(s) {
  const lanes = state.model.lanes.map((l) => {
    const q = s.queues[l.dlq];
    const depth = q ? q.visible + q.inFlight + q.delayed : 0;
    return el(
      'p',
      { 'data-dlq-lane': l.name },
      el('strong', { text: l.dlq }),
      ` (lane ${l.name}): `,
      el('span', { 'data-field': 'depth', text: depth }),
      ` message${depth === 1 ? '' : 's'} `,
      depth
        ? [
            el('button', {
              type: 'button',
              'data-action': 'redrive',
              'data-lane': l.name,
              text: `Redrive all of ${l.name}`,
            }),
            ' ',
            el('button', {
              type: 'button',
              'data-action': 'purge',
              'data-lane': l.name,
              text: `Purge ${l.name}'s DLQ`,
            }),
          ]
        : '',
    );
  });
  $('#dlq-lanes').replaceChildren(...lanes);
  $('#dlq-table tbody').replaceChildren(
    ...s.dlq.map((m) =>
      el(
        'tr',
        { 'data-envelope-id': m.envelopeId ?? '', 'data-message-id': m.messageId },
        el('td', { text: m.lane }),
        el('td', { class: 'id', text: m.envelopeId ?? '–' }),
        el('td', { class: 'id', text: m.messageId }),
        el('td', { text: m.type ?? '–' }),
        el('td', {
          text: [m.failureKind, m.errorName].filter(Boolean).join(', ') || 'exhausted (redrive policy)',
        }),
        el('td', { class: 'num', text: m.receiveCount }),
        el('td', {}, el('time', { datetime: m.sentAt, text: time(m.sentAt) })),
        el(
          'td',
          {},
          ['redrive', 'replay'].map((action) =>
            el('button', {
              type: 'button',
              'data-action': action,
              'data-id': m.envelopeId ?? m.messageId,
              'data-lane': m.lane,
              'aria-label': `${ACTIONS[action].verb} ${m.envelopeId ?? m.messageId}`,
              text: ACTIONS[action].verb,
            }),
          ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- alarms

function renderAlarms(s) {
  const byId = new Map(s.alarms.map((a) => [a.logicalId, a]));
  $('#alarm-table tbody').replaceChildren(
    ...state.model.alarms.map((m) => {
      const a = byId.get(m.id);
      return el(
        'tr',
        { 'data-alarm-row': m.id },
        el('th', { scope: 'row', text: m.name }),
        el('td', { 'data-alarm': a?.state ?? '', text: a?.state ?? 'not evaluated' }),
        el('td', { text: a?.reason ?? m.note ?? '' }),
        el('td', {}, a ? el('time', { datetime: a.updatedAt, text: time(a.updatedAt) }) : '–'),
      );
    }),
  );
  $('#alarm-history').replaceChildren(
    ...(s.alarmHistory.length
      ? s.alarmHistory
          .slice()
          .reverse()
          .map((c) =>
            el(
              'li',
              { 'data-alarm': c.to },
              el('time', { datetime: c.at, text: time(c.at) }),
              el('strong', { text: `${c.name}: ${c.from} → ${c.to}` }),
              el('div', { class: 'detail', text: c.reason }),
            ),
          )
      : [el('li', { class: 'muted', text: 'no change since local mode started' })]),
  );
}

// ---------------------------------------------------------------- dashboard

function chart(series) {
  const w = 280;
  const h = 70;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  const all = series.flatMap((x) => x.points);
  const max = Math.max(1, ...all.map((p) => p[1]));
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${series.length} series over the last 10 min, at most ${+max.toFixed(2)}`);
  series.forEach((x, i) => {
    if (!x.points.length) return;
    const pl = document.createElementNS(SVG, 'polyline');
    pl.setAttribute('class', `s${i % 6}`);
    // One point is drawn as a short dash at its place.
    const points =
      x.points.length === 1
        ? [x.points[0], [x.points[0][0] + (t1 - t0) / 40 || 1, x.points[0][1]]]
        : x.points;
    const tMax = Math.max(t1, ...points.map((p) => p[0]));
    pl.setAttribute(
      'points',
      points
        .map(
          ([t, v]) =>
            `${tMax > t0 ? (((t - t0) / (tMax - t0)) * w).toFixed(1) : 0},${(h - 1 - (v / max) * (h - 2)).toFixed(1)}`,
        )
        .join(' '),
    );
    svg.append(pl);
  });
  return svg;
}

function widgetView(wd, index) {
  if (wd.type !== 'metric') return el('h4', { text: wd.title || wd.type });
  const num = (v) => String(+v.toFixed(2));
  return el(
    'figure',
    { class: 'widget', 'data-widget': String(index), 'data-title': wd.title },
    el('figcaption', { text: wd.title || '(untitled)' }),
    ...(wd.series.length ? [chart(wd.series)] : []),
    el(
      'ul',
      {},
      ...wd.series.map((x, i) => {
        const last = x.points.length ? x.points.at(-1)[1] : null;
        const peak = x.points.reduce((m, p) => Math.max(m, p[1]), 0);
        const avg = x.points.length ? x.points.reduce((a, p) => a + p[1], 0) / x.points.length : 0;
        // CloudWatch's label placeholders, filled with the drawn points.
        const label = x.label.replaceAll('${AVG}', num(avg)).replaceAll('${MAX}', num(peak));
        return el(
          'li',
          {
            class: `s${i % 6}`,
            'data-metric': x.metric,
            'data-dimensions': JSON.stringify(x.dimensions),
            'data-source': x.source,
            'data-max': String(peak),
          },
          `● ${label} (${x.stat}) · ${x.source} · last ${last === null ? '–' : num(last)}, max ${num(peak)}`,
        );
      }),
    ),
    ...wd.missing.map((m) => el('p', { class: 'missing', text: m })),
    ...wd.expressions.map((e) => el('p', { class: 'muted', text: `expression not computed locally: ${e}` })),
  );
}

async function refreshDashboard() {
  const res = await fetch('/_local/console/dashboard');
  if (!res.ok) return;
  const { dashboards } = await res.json();
  const box = $('#dashboard-widgets');
  if (!dashboards.length) {
    box.replaceChildren(el('p', { class: 'muted', text: 'The template has no AWS::CloudWatch::Dashboard.' }));
    return;
  }
  box.replaceChildren(
    ...dashboards.map((d) =>
      el(
        'div',
        { 'data-dashboard': d.logicalId },
        el('h3', { text: d.logicalId }),
        ...(d.error ? [el('p', { class: 'missing', text: d.error })] : []),
        el('div', { class: 'widgets' }, ...d.widgets.map(widgetView)),
      ),
    ),
  );
}

// ---------------------------------------------------------------- wiring

function onSnapshot(s) {
  state.snapshot = s;
  for (const [id, q] of Object.entries(s.queues)) {
    const h = (state.history[id] ??= []);
    h.push({ t: q.t, visible: q.visible, inFlight: q.inFlight, delayed: q.delayed, processed: q.processed });
    if (h.length > MAX_HISTORY) h.splice(0, h.length - MAX_HISTORY);
  }
  state.journalLength = s.journalLength;
  if (!state.model) return;
  updateTopology(s);
  renderQueues(s);
  renderDlqs(s);
  renderAlarms(s);
  // New invocations: the rows in view again while the view is at the newest (scrolled back, it stays put).
  if (s.invocations.length && $('#journal-scroll').scrollTop < ROW_H) void fetchJournal();
  else if (!filtered()) renderJournal();
  if (state.watching) void refreshLife();
  if (++state.dashboardTicks % 3 === 1) void refreshDashboard();
}

function connect() {
  const status = $('#connection');
  const source = new EventSource('/_local/console/events');
  source.addEventListener('open', () => {
    status.dataset.state = 'live';
    status.textContent = 'live';
  });
  source.addEventListener('error', () => {
    status.dataset.state = 'down';
    status.textContent = source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…';
  });
  source.addEventListener('model', (e) => {
    state.model = JSON.parse(e.data);
    renderTopology();
    const select = $('#filter-function');
    const chosen = select.value;
    select.replaceChildren(
      el('option', { value: '', text: 'all' }),
      ...state.model.functions.map((f) => el('option', { value: f.id, text: f.id })),
    );
    select.value = chosen;
  });
  source.addEventListener('history', (e) => {
    state.history = JSON.parse(e.data);
  });
  source.addEventListener('journal', (e) => {
    const j = JSON.parse(e.data);
    state.journalLength = j.length;
    if (filtered()) return void fetchJournal();
    // The newest records come with the stream: the first rows need no request.
    Object.assign(state.journal, { total: j.length, base: 0, records: j.recent.slice().reverse(), note: '' });
    renderJournal();
  });
  source.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
}

$('#message-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = $('#message-id').value.trim();
  if (!id) return;
  openMessage(id);
});

$('#message-result').addEventListener('click', (e) => {
  const link = e.target.closest('[data-open-id]');
  if (!link) return;
  e.preventDefault();
  openMessage(link.getAttribute('data-open-id'));
});

$('#send-type').addEventListener('change', showType);
$('#send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void send();
});
$('#send-result').addEventListener('click', (e) => {
  const link = e.target.closest('[data-open-id]');
  if (!link) return;
  e.preventDefault();
  openMessage(link.getAttribute('data-open-id'));
  $('#message').scrollIntoView();
});

let scrollFrame = 0;
$('#journal-scroll').addEventListener('scroll', () => {
  if (scrollFrame) return;
  scrollFrame = window.requestAnimationFrame(() => {
    scrollFrame = 0;
    renderJournal();
  });
});

$('#journal-filters').addEventListener('submit', (e) => {
  e.preventDefault();
  state.filters = {
    function: $('#filter-function').value,
    outcome: $('#filter-outcome').value,
    messageId: $('#filter-message').value.trim(),
  };
  $('#journal-scroll').scrollTop = 0;
  void fetchJournal();
});
for (const id of ['#filter-function', '#filter-outcome']) {
  $(id).addEventListener('change', () => $('#journal-filters').requestSubmit());
}

$('#dlqs').addEventListener('click', (e) => {
  const button = e.target.closest('button[data-action]');
  if (!button) return;
  const { action, id, lane } = button.dataset;
  button.disabled = true;
  const input = { lane, ...(id ? { ids: [id] } : {}) };
  const what = id ?? `every message of lane ${lane}'s DLQ`;
  void act(action, input, what).finally(() => (button.disabled = false));
});

connect();
void loadTypes();
