/** Renders rows as a plain left-aligned table with a header line. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '–' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** Cuts `s` to `n` characters with an ellipsis. */
export function clip(s: string | null | undefined, n: number): string {
  if (!s) return '';
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

/** What `dlq redrive` and `replay` say of each message they moved (or would move). */
export interface MessageOutcome {
  readonly lane: string | null;
  readonly messageId: string;
  readonly envelopeId: string | null;
  readonly type: string | null;
  readonly kind: string;
  readonly outcome: string;
  readonly newMessageId?: string;
}

/** The per-message table of `dlq redrive` and `replay`; the last column is `note` under `noteHeader`. */
export function outcomeTable<T extends MessageOutcome>(
  items: readonly T[],
  noteHeader: string,
  note: (item: T) => string | undefined,
): string {
  return table(
    ['lane', 'message id', 'type', 'envelope id', 'kind', 'outcome', 'new message id', noteHeader],
    items.map((i) => [i.lane, i.messageId, i.type, i.envelopeId, i.kind, i.outcome, i.newMessageId, note(i)]),
  );
}
