/**
 * The bench's load generator, run as its own process (`child_process.fork` from
 * `local-throughput.ts`) so its HTTP client does not share the local API server's event loop or
 * CPU time accounting (with `fetch` in the bench process it was ≈ 7–10 % of the main thread).
 * Plain JavaScript on plain node (no tsx loader), `node:http` with a keep-alive agent of one
 * socket per concurrent request.
 *
 * Protocol (IPC): parent → child `{ type: 'run', apiUrl, apiKey, n, concurrency, label, groups }`
 * (`groups` > 0: FIFO, `orderingKey` `group-<i % groups>`); child → parent
 * `{ type: 'done', ms, cpuMs, latencies, ids }` (`cpuMs`: this process's CPU time during the run) or `{ type: 'error', message }`. The child exits when the
 * parent disconnects.
 */

import http from 'node:http';
import process from 'node:process';
import { performance } from 'node:perf_hooks';

/**
 * @typedef {{ type: 'run', apiUrl: string, apiKey: string, n: number, concurrency: number, label: string, groups: number, tagPrefix?: string }} RunRequest
 */

/**
 * POSTs `body` and resolves with the status and the text of the answer.
 * @param {http.Agent} agent
 * @param {URL} url
 * @param {string} apiKey
 * @param {string} body
 * @returns {Promise<{ status: number, text: string }>}
 */
function post(agent, url, apiKey, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-api-key': apiKey,
        },
      },
      (res) => {
        const chunks = /** @type {Buffer[]} */ ([]);
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** @param {RunRequest} job */
async function run(job) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const url = new URL('/v1/messages', job.apiUrl);
  /** @type {number[]} */
  const latencies = [];
  /** @type {string[]} */
  const ids = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  try {
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (next < job.n) {
          const i = next++;
          const body = JSON.stringify({
            type: 'probe',
            payload: { mode: 'succeed', tag: `${job.tagPrefix ?? 'bench'}-${job.label}-${i}` },
            ...(job.groups > 0 ? { orderingKey: `group-${i % job.groups}` } : {}),
          });
          const s = performance.now();
          const res = await post(agent, url, job.apiKey, body);
          latencies.push(performance.now() - s);
          if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${res.text}`);
          ids.push(JSON.parse(res.text).messageId);
        }
      }),
    );
    const ms = performance.now() - t;
    const cpu = process.cpuUsage(cpu0);
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, latencies, ids };
  } finally {
    agent.destroy();
  }
}

process.on('message', (/** @type {RunRequest} */ msg) => {
  if (msg.type !== 'run') return;
  run(msg).then(
    (r) => process.send?.({ type: 'done', ...r }),
    (error) => process.send?.({ type: 'error', message: String(error?.message ?? error) }),
  );
});
process.on('disconnect', () => process.exit(0));
