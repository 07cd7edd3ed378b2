// DynamoDB Streams for the embedded dynalite (dynalite 4 has none), in dynalite's own process
// (dynalite-process.mjs): every item write of a table whose stream is enabled becomes one stream
// record, in write order, with the exact old and new images.
//
// How: dynalite's actions (putItem, updateItem, deleteItem, batchWriteItem) read the old item and
// write the new one inside a per-key lock, through the sub-database `store.getItemDb(table)`
// (node_modules/dynalite/db/index.js, `create`). Wrapping that sub-database's `put` and `del`
// (read the stored item, write, then emit) sees every successful write and only those: a write
// whose condition fails, or that fails validation, never reaches `put`/`del`. No file of the
// package is changed: `create` of the cached `dynalite/db` module is wrapped before `dynalite()`
// calls it.
//
// As DynamoDB does ("Change data capture for DynamoDB Streams"): a write that changes nothing
// (a put of an identical item, a delete of a missing item) writes no stream record; the images
// follow the table's StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES).

/** Sequence numbers: 21 decimal digits, increasing (DynamoDB's are numeric strings). */
const SEQUENCE_BASE = 100000000000000000000n;

/**
 * The stream record of one write, DynamoDB JSON (`dynamodb` of a Lambda stream event record), or
 * `undefined` when the write changed nothing.
 * @param {{ viewType: string, keys: string[] }} stream
 * @param {Record<string, unknown> | undefined} oldImage
 * @param {Record<string, unknown> | undefined} newImage
 * @param {bigint} sequence
 * @param {number} nowMs
 */
export function streamRecordOf(stream, oldImage, newImage, sequence, nowMs) {
  if (!oldImage && !newImage) return undefined;
  if (oldImage && newImage && canonical(oldImage) === canonical(newImage)) return undefined;
  const eventName = !oldImage ? 'INSERT' : !newImage ? 'REMOVE' : 'MODIFY';
  const any = /** @type {Record<string, unknown>} */ (newImage ?? oldImage);
  const Keys = Object.fromEntries(stream.keys.filter((k) => k in any).map((k) => [k, any[k]]));
  const withNew = stream.viewType === 'NEW_IMAGE' || stream.viewType === 'NEW_AND_OLD_IMAGES';
  const withOld = stream.viewType === 'OLD_IMAGE' || stream.viewType === 'NEW_AND_OLD_IMAGES';
  const dynamodb = {
    ApproximateCreationDateTime: Math.floor(nowMs / 1000),
    Keys,
    ...(withNew && newImage ? { NewImage: newImage } : {}),
    ...(withOld && oldImage ? { OldImage: oldImage } : {}),
    SequenceNumber: (SEQUENCE_BASE + sequence).toString(),
    SizeBytes: 0,
    StreamViewType: stream.viewType,
  };
  // An approximation of DynamoDB's: the bytes of the keys and images as JSON.
  dynamodb.SizeBytes = Buffer.byteLength(
    JSON.stringify([dynamodb.Keys, dynamodb.NewImage ?? null, dynamodb.OldImage ?? null]),
  );
  return { eventName, dynamodb };
}

/** JSON with sorted keys: two images are the same item when these are equal. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/**
 * Wraps `dbModule.create` (the `dynalite/db` module object dynalite itself requires) so that the
 * stores it creates capture writes. Call before `dynalite()`.
 * @param {{ create: (options: unknown) => any }} dbModule
 * @param {(table: string, record: { eventName: string, dynamodb: Record<string, unknown> }) => void} emit
 * @returns {{ enable(table: string, stream: { viewType: string, keys: string[] }): void }}
 */
export function captureStreams(dbModule, emit) {
  /** @type {Map<string, { viewType: string, keys: string[] }>} */
  const streams = new Map();
  let sequence = 0n;
  const create = dbModule.create;
  dbModule.create = function createCapturing(options) {
    const store = create.call(this, options);
    const getItemDb = store.getItemDb;
    store.getItemDb = function getItemDbCapturing(name) {
      const itemDb = getItemDb.call(this, name);
      if (itemDb.__streamCapture) return itemDb;
      itemDb.__streamCapture = true;
      const { get, put, del } = itemDb;
      const write = (key, newItem, apply, callback) => {
        const stream = streams.get(name);
        if (!stream) return apply(callback);
        get.call(itemDb, key, (readError, oldItem) => {
          if (readError && readError.name !== 'NotFoundError' && readError.code !== 'LEVEL_NOT_FOUND')
            return callback(readError);
          apply((error) => {
            if (!error) {
              const record = streamRecordOf(
                stream,
                oldItem ?? undefined,
                newItem === undefined ? undefined : JSON.parse(JSON.stringify(newItem)),
                ++sequence,
                Date.now(),
              );
              if (record) emit(name, record);
            }
            callback(error);
          });
        });
      };
      itemDb.put = (key, value, callback) =>
        write(key, value, (cb) => put.call(itemDb, key, value, cb), callback);
      itemDb.del = (key, callback) => write(key, undefined, (cb) => del.call(itemDb, key, cb), callback);
      return itemDb;
    };
    return store;
  };
  return {
    enable(table, stream) {
      streams.set(table, stream);
    },
  };
}
