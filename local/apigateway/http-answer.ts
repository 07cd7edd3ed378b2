/** A response about to be written. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Buffer | string;
}

/** A JSON answer that is never cached (local mode's own answers). */
export const jsonAnswer = (statusCode: number, body: unknown): HttpAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});
