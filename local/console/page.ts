/**
 * The local console's page and style sheet (served by `local/control/console.ts`). The page is
 * static HTML: `app.mjs` (plain JavaScript, no build step) fills it from the console's event
 * stream. The action token is in a `<meta>` tag: a page of another site cannot read it, so it
 * cannot trigger actions.
 */

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The console's HTML, carrying `token` for its actions. */
export function consolePage(token: string, stage: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="console-token" content="${escapeHtml(token)}">
<title>event-pipeline · ${escapeHtml(stage)} · local console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/_local/console/app.css">
<script type="module" src="/_local/console/app.mjs"></script>
</head>
<body>
<header class="top">
  <h1>event-pipeline <span class="muted">· stage ${escapeHtml(stage)} · local console</span></h1>
  <p id="connection" role="status" class="badge" data-state="connecting">connecting…</p>
</header>
<nav aria-label="Sections">
  <a href="#topology">Topology</a> <a href="#queues">Queues</a> <a href="#message">Message</a>
  <a href="#send">Send</a> <a href="#invocations">Invocations</a> <a href="#dlqs">Dead-letter queues</a> <a href="#alarms">Alarms</a>
</nav>
<main>
<section id="topology" aria-labelledby="topology-title">
  <h2 id="topology-title">Topology</h2>
  <div id="topology-view" class="topology"><p class="muted">waiting for the stack…</p></div>
</section>
<section id="queues" aria-labelledby="queues-title">
  <h2 id="queues-title">Queues</h2>
  <table id="queue-table">
    <caption class="sr-only">Every queue of the template, sampled every second</caption>
    <thead><tr><th scope="col">Queue</th><th scope="col">Lane</th><th scope="col">Role</th><th scope="col">Visible</th><th scope="col">In flight</th><th scope="col">Delayed</th><th scope="col">Oldest</th><th scope="col">Scheduled</th><th scope="col">Deferred</th><th scope="col">Processed, last min</th><th scope="col">Depth and throughput, last minutes</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="waiting-note" class="muted"></p>
</section>
<section id="message" aria-labelledby="message-title">
  <h2 id="message-title">A message's life</h2>
  <form id="message-form" role="search">
    <label for="message-id">Message id</label>
    <input id="message-id" name="id" autocomplete="off" spellcheck="false" placeholder="envelope id (the 202's id) or SQS message id" size="44" required>
    <button type="submit">Show</button>
  </form>
  <div id="message-result" aria-live="polite"></div>
</section>
<section id="send" aria-labelledby="send-title">
  <h2 id="send-title">Send a message</h2>
  <form id="send-form" class="send" novalidate>
    <label for="send-type">Job type</label>
    <select id="send-type" name="type"></select>
    <p id="send-type-info" class="muted"></p>
    <label for="send-payload">Payload (JSON)</label>
    <textarea id="send-payload" name="payload" rows="8" spellcheck="false" aria-describedby="send-type-info"></textarea>
    <label for="send-ordering-key">Ordering key</label>
    <input id="send-ordering-key" name="orderingKey" autocomplete="off" placeholder="optional (required by ordered types)">
    <label for="send-not-before">Not before</label>
    <input id="send-not-before" name="notBefore" autocomplete="off" placeholder="optional ISO time, e.g. 2026-01-01T09:00:00Z">
    <label for="send-idempotency-key">Idempotency key</label>
    <input id="send-idempotency-key" name="idempotencyKey" autocomplete="off" placeholder="optional">
    <div><button type="submit">Send</button></div>
  </form>
  <details><summary>The payload's JSON Schema</summary><pre id="send-schema"></pre></details>
  <div id="send-result" role="status" aria-live="polite"></div>
</section>
<section id="invocations" aria-labelledby="invocations-title">
  <h2 id="invocations-title">Invocations</h2>
  <form id="journal-filters" class="filters">
    <label for="filter-function">Function</label>
    <select id="filter-function" name="function"><option value="">all</option></select>
    <label for="filter-outcome">Outcome</label>
    <select id="filter-outcome" name="outcome"><option value="">all</option><option value="ok">ok</option><option value="failed">failed</option></select>
    <label for="filter-message">Filter by message id</label>
    <input id="filter-message" name="messageId" autocomplete="off" spellcheck="false" placeholder="SQS message id or envelope id" size="38">
    <button type="submit">Filter</button>
  </form>
  <p id="journal-count" role="status"></p>
  <div id="journal-scroll" tabindex="0" role="region" aria-label="Invocations list (scrolls)"><div id="journal-sizer">
  <table id="invocation-table">
    <caption class="sr-only">Invocations, newest first</caption>
    <colgroup><col class="c-time"><col class="c-fn"><col class="c-ms"><col class="c-out"><col><col></colgroup>
    <thead><tr aria-rowindex="1"><th scope="col">Started</th><th scope="col">Function</th><th scope="col">Duration</th><th scope="col">Outcome</th><th scope="col">Message ids</th><th scope="col">Error</th></tr></thead>
    <tbody></tbody>
  </table>
  </div></div>
</section>
<section id="dlqs" aria-labelledby="dlqs-title">
  <h2 id="dlqs-title">Dead-letter queues</h2>
  <div id="dlq-lanes"></div>
  <table id="dlq-table">
    <caption class="sr-only">Dead-lettered messages (the first 100 per DLQ)</caption>
    <thead><tr><th scope="col">Lane</th><th scope="col">Envelope id</th><th scope="col">Message id</th><th scope="col">Type</th><th scope="col">Failure</th><th scope="col">Receives</th><th scope="col">Dead-lettered</th><th scope="col">Action</th></tr></thead>
    <tbody></tbody>
  </table>
  <div id="dlq-result" role="status"></div>
</section>
<section id="dashboard" aria-labelledby="dashboard-title">
  <h2 id="dashboard-title">Dashboard</h2>
  <p id="dashboard-note" class="muted">The template's CloudWatch dashboard, drawn from local data (the last 10 minutes, 10 s buckets): the functions' EMF metrics, the journal, the queue depths the console samples.</p>
  <div id="dashboard-widgets"><p class="muted">loading…</p></div>
</section>
<section id="alarms" aria-labelledby="alarms-title">
  <h2 id="alarms-title">Alarms</h2>
  <table id="alarm-table">
    <thead><tr><th scope="col">Alarm</th><th scope="col">State</th><th scope="col">Reason</th><th scope="col">Evaluated</th></tr></thead>
    <tbody></tbody>
  </table>
  <h3>Changes of state</h3>
  <ol id="alarm-history" class="timeline" aria-label="alarm history"></ol>
</section>
</main>
<dialog id="confirm-dialog" aria-labelledby="confirm-title">
  <form method="dialog">
    <h2 id="confirm-title">Redrive?</h2>
    <p id="confirm-text"></p>
    <button value="cancel" type="submit">Cancel</button>
    <button value="confirm" type="submit" id="confirm-button">Redrive</button>
  </form>
</dialog>
</body>
</html>
`;
}

/** The console's style sheet. */
export function consoleCss(): string {
  return `:root { color-scheme: light dark; --fg: #1d232b; --bg: #f6f7f9; --card: #fff; --line: #d5dae1; --muted: #5b6472;
  --ok: #0b7a3b; --bad: #b3261e; --info: #1f5fbf; --warn: #8a5a00; font: 14px/1.45 system-ui, sans-serif; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ee; --bg: #14171c; --card: #1c2027; --line: #333a45; --muted: #9aa4b2;
  --ok: #5fd08a; --bad: #ff8a80; --info: #8ab4f8; --warn: #f2c14e; } }
body { margin: 0; color: var(--fg); background: var(--bg); }
.top { display: flex; align-items: center; justify-content: space-between; padding: .5rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 1.1rem; margin: 0; } h2 { font-size: 1rem; margin: 0 0 .5rem; }
nav { padding: .4rem 1rem; display: flex; gap: 1rem; flex-wrap: wrap; }
a { color: var(--info); }
main { display: grid; gap: 1rem; padding: 0 1rem 2rem; grid-template-columns: repeat(auto-fit, minmax(36rem, 1fr)); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; overflow-x: auto; }
#topology, #queues, #alarms { grid-column: 1 / -1; }
.muted { color: var(--muted); font-weight: normal; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .2rem .45rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num { text-align: right; } code, .id { font-family: ui-monospace, monospace; font-size: .85em; word-break: break-all; }
.badge { border-radius: 999px; padding: .1rem .6rem; border: 1px solid var(--line); margin: 0; }
[data-state="live"] { color: var(--ok); } [data-state="down"] { color: var(--bad); }
[data-tone="ok"], [data-alarm="OK"] { color: var(--ok); } [data-tone="failed"], [data-alarm="ALARM"] { color: var(--bad); }
[data-tone="info"] { color: var(--info); } [data-alarm="INSUFFICIENT_DATA"] { color: var(--warn); }
.topology { display: grid; gap: .5rem; }
.row { display: flex; align-items: stretch; gap: .4rem; flex-wrap: wrap; }
.part { border: 1px solid var(--line); border-radius: 6px; padding: .35rem .55rem; min-width: 9rem; background: var(--bg); }
.part h3 { font-size: .85rem; margin: 0 0 .15rem; } .part .kind { font-size: .75rem; color: var(--muted); }
.part dl { display: grid; grid-template-columns: auto auto; gap: 0 .6rem; margin: 0; font-size: .8rem; }
.part dt { color: var(--muted); } .part dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.part[data-hot="true"] { border-color: var(--bad); }
.arrow { align-self: center; color: var(--muted); }
.send { display: grid; grid-template-columns: max-content 1fr; gap: .35rem .6rem; align-items: start; }
.send textarea { font-family: ui-monospace, monospace; font-size: .85em; width: 100%; box-sizing: border-box; }
.send p, .send div { grid-column: 2; margin: 0; } [aria-invalid="true"] { outline: 2px solid var(--bad); }
.widgets { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: .5rem; }
.widget { margin: 0; border: 1px solid #ccd; border-radius: 4px; padding: .4rem; } .widget figcaption { font-weight: 600; }
.widget ul { list-style: none; padding: 0; margin: .2rem 0; font-size: .8rem; } .widget .missing { color: #8a5a00; font-size: .8rem; margin: .1rem 0; }
.widgets h4 { grid-column: 1 / -1; margin: .6rem 0 0; } svg.chart polyline { fill: none; stroke-width: 1.5; }
.s0 { stroke: #1f6feb; color: #1f6feb; } .s1 { stroke: #d1242f; color: #d1242f; } .s2 { stroke: #1a7f37; color: #1a7f37; } .s3 { stroke: #8250df; color: #8250df; } .s4 { stroke: #bc4c00; color: #bc4c00; } .s5 { stroke: #57606a; color: #57606a; }
#journal-scroll { height: 28rem; overflow-y: auto; border: 1px solid var(--line); }
#journal-sizer { position: relative; }
#invocation-table { position: absolute; left: 0; table-layout: fixed; }
#invocation-table th { position: sticky; top: 0; background: var(--card); }
#invocation-table tr { height: 26px; } #invocation-table td { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding-block: 0; }
.c-time { width: 6rem; } .c-fn { width: 17rem; } .c-ms { width: 5rem; } .c-out { width: 6rem; }
.filters, #message-form { display: flex; gap: .4rem; align-items: center; flex-wrap: wrap; margin-bottom: .5rem; }
input, select, button { font: inherit; padding: .2rem .4rem; }
button { cursor: pointer; }
:focus-visible { outline: 2px solid var(--info); outline-offset: 2px; }
ol.timeline { list-style: none; padding: 0; margin: .5rem 0 0; border-left: 2px solid var(--line); }
ol.timeline li { margin: 0 0 .5rem; padding-left: .75rem; }
ol.timeline time { color: var(--muted); font-size: .8rem; margin-right: .4rem; }
ol.timeline .detail { color: var(--muted); font-size: .85rem; }
svg.spark { display: block; } svg.spark polyline { fill: none; stroke: var(--info); stroke-width: 1.5; }
svg.spark polyline.inflight { stroke: var(--warn); } svg.spark polyline.processed { stroke: var(--ok); stroke-dasharray: 2 2; }
h3 { font-size: .9rem; margin: .75rem 0 .25rem; }
dialog { border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); }
`;
}
