/**
 * The embedded emulator (fauxqs: SQS + S3) in its own `worker_threads` Worker, started by
 * `emulator.ts`, so its request handling does not share a thread with the local API server, the
 * pollers and the sandboxes' message passing (bench/README.md: it was ≈ 30 % of the main thread).
 * Plain JavaScript so it runs under tsx, vitest and plain node alike.
 *
 * Protocol (host ⇄ worker, via `parentPort`):
 * - worker → host `{ type: 'listening', port }`, or `{ type: 'error', code, message }` if it cannot listen;
 * - host → worker `{ type: 'stop' }`; worker → host `{ type: 'stopped' }` once the server is closed
 *   (pending long polls return at once).
 */

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ port: number, region: string, fairQueues?: boolean }} */
const data = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

/**
 * Whether `body` has a character SQS refuses in a message body. Allowed: #x9 | #xA | #xD |
 * #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF (SQS API reference, "SendMessage"); a lone
 * surrogate is refused.
 * @param {string} body
 */
function hasInvalidSqsCharacter(body) {
  for (const ch of body) {
    const c = /** @type {number} */ (ch.codePointAt(0));
    const ok =
      c === 0x9 ||
      c === 0xa ||
      c === 0xd ||
      (c >= 0x20 && c <= 0xd7ff) ||
      (c >= 0xe000 && c <= 0xfffd) ||
      (c >= 0x10000 && c <= 0x10ffff);
    if (!ok) return true;
  }
  return false;
}

/**
 * fauxqs (1.9.x) checks message bodies with a regular expression that leaves out SQS's
 * #x10000–#x10FFFF range (it tests UTF-16 code units), so it refuses every emoji and other
 * astral character that SQS accepts: local mode would answer 503 where AWS answers 202. Its check
 * is made SQS's here. Does nothing when the emulator's internals are laid out differently.
 */
async function allowAstralMessageCharacters() {
  const url = new URL('./sqs/sqsTypes.js', import.meta.resolve('fauxqs'));
  if (!existsSync(fileURLToPath(url))) return;
  const types = await import(url.href);
  const check = types.INVALID_MESSAGE_BODY_CHAR;
  if (check instanceof RegExp && !check.unicode) {
    Object.defineProperty(check, 'test', { value: hasInvalidSqsCharacter });
  }
}

const { refusalBody, refuseForeignRequest } = await import('./foreign-request.mjs');
/**
 * Turns the patched emulator's fair-queue preference (patches/fauxqs+1.9.2.patch,
 * `SqsQueue.fairQueues`) on or off. Does nothing on an emulator without it.
 */
async function setFairQueues(/** @type {boolean} */ enabled) {
  const url = new URL('./sqs/sqsStore.js', import.meta.resolve('fauxqs'));
  if (!existsSync(fileURLToPath(url))) return;
  const { SqsQueue } = await import(url.href);
  if (SqsQueue?.fairQueues) SqsQueue.fairQueues.enabled = enabled;
}

const { buildApp } = await import('fauxqs');
await allowAstralMessageCharacters();
await setFairQueues(data.fairQueues !== false);
const app = buildApp({ logger: false, defaultRegion: data.region });
// This machine only: a foreign Host (DNS rebinding) or a cross-site browser request gets 403
// before fauxqs sees it (its CORS would let any page read queues and buckets).
app.addHook('onRequest', async (request, reply) => {
  const refusal = refuseForeignRequest(request.headers);
  if (refusal !== undefined)
    return reply.code(403).header('content-type', 'application/x-amz-json-1.0').send(refusalBody(refusal));
});
try {
  const address = await app.listen({ port: data.port, host: '127.0.0.1' });
  port.postMessage({ type: 'listening', port: Number(new URL(address).port) });
} catch (error) {
  await app.close().catch(() => undefined);
  port.postMessage({ type: 'error', code: error?.code, message: String(error?.message ?? error) });
}
port.on('message', async (/** @type {{ type: string }} */ msg) => {
  if (msg.type !== 'stop') return;
  await app.close().catch(() => undefined);
  port.postMessage({ type: 'stopped' });
  port.close();
});
