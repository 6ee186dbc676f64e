// Plain-text tables for terminals: columns padded to their widest cell, numbers right-aligned.

export interface TableOptions {
  readonly rightAlign?: readonly number[];
  readonly indent?: string;
}

export function renderTable(
  header: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
  opts: TableOptions = {},
): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const right = new Set(opts.rightAlign ?? rows[0]?.flatMap((v, i) => (typeof v === 'number' ? [i] : [])) ?? []);
  const line = (r: readonly string[]) =>
    (opts.indent ?? '') +
    r
      .map((v, c) => (right.has(c) ? v.padStart(widths[c]!) : v.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}
