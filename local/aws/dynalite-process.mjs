// The embedded DynamoDB emulator's own process (started by local/aws/dynamodb.ts with fork()):
// dynalite in memory on 127.0.0.1, off the main process's event loop (which serves the API, the
// pollers and fauxqs). Tells its parent { type: 'ready', port } or { type: 'error', code, message };
// answers { type: 'counts' } with the requests it served by operation (X-Amz-Target).
// Streams (dynalite-streams.mjs): { type: 'enable-stream', id, table, viewType, keys } turns on
// a table's stream (answered { type: 'stream-enabled', id }); each write of such a table is then
// told as { type: 'stream', table, record } right after it is stored, before dynalite answers.
import dynalite from 'dynalite';
import { createRequire } from 'node:module';
import { captureStreams } from './dynalite-streams.mjs';
import { refusalBody, refuseForeignRequest } from './foreign-request.mjs';

const port = Number(process.argv[2] ?? '0');
// The same module object dynalite's index.js requires ('./db'): its create() is wrapped first.
const streams = captureStreams(createRequire(import.meta.url)('dynalite/db'), (table, record) =>
  process.send?.({ type: 'stream', table, record }),
);
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
// This machine only: dynalite answers every origin with Access-Control-Allow-Origin: *, so a web
// page could read and write the tables; a foreign Host or a cross-site request gets 403 first.
const [serve] = server.listeners('request');
server.removeAllListeners('request');
server.on('request', (req, res) => {
  const refusal = refuseForeignRequest(req.headers);
  if (refusal === undefined) return serve.call(server, req, res);
  res.writeHead(403, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(refusalBody(refusal));
});
const counts = {};
server.prependListener('request', (req) => {
  const target = String(req.headers['x-amz-target'] ?? '');
  const op = target.slice(target.indexOf('.') + 1) || 'unknown';
  counts[op] = (counts[op] ?? 0) + 1;
});
server.once('error', (error) => {
  process.send?.({ type: 'error', code: error.code, message: error.message });
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: server.address().port });
});
process.on('message', (m) => {
  if (m && m.type === 'counts') process.send?.({ type: 'counts', counts });
  if (m && m.type === 'enable-stream') {
    streams.enable(m.table, { viewType: m.viewType, keys: m.keys });
    process.send?.({ type: 'stream-enabled', id: m.id });
  }
});
// The parent's end is the end: stop with it.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
