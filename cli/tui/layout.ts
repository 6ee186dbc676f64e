// Where each pane sits for a terminal size: one function, read by the key reducer (page sizes)
// and the views (how many lines to draw). The frame is one line shorter than the terminal so the
// cursor parks below it and the terminal never scrolls.

export interface Layout {
  readonly width: number;
  /** Lines of the frame (terminal rows - 1). */
  readonly height: number;
  /** Lines between the tab bar and the status line. */
  readonly body: number;
  /** Commands view: list rows (without its header) and detail lines (without its title). */
  readonly listRows: number;
  readonly detailRows: number;
  /** Queue view: slot lines under the ring. */
  readonly slotRows: number;
  /** Policies view: table rows and violation rows (without headers). */
  readonly tableRows: number;
  readonly violationRows: number;
  /** SQL view: result rows (without the header). */
  readonly sqlRows: number;
}

export const MIN_WIDTH = 60;
export const MIN_HEIGHT = 12;

export function layoutFor(columns: number, rows: number, opts: { zoom?: boolean; policies?: number } = {}): Layout {
  const width = Math.max(MIN_WIDTH, columns);
  const height = Math.max(MIN_HEIGHT, rows - 1);
  const body = height - 2; // tab bar, status line
  // Commands: list header + rows, detail title + lines.
  const listRows = opts.zoom ? 1 : Math.max(3, Math.floor((body - 2) * 0.55));
  const detailRows = body - 2 - listRows;
  // Queue: title, CONS line, ring bar, legend, slot header.
  const slotRows = Math.max(1, body - 5);
  // Policies: title + header + rows, title + violation rows.
  const tableRows = Math.max(2, Math.min(opts.policies ?? 9, Math.floor((body - 3) / 2)));
  const violationRows = Math.max(1, body - 3 - tableRows);
  // SQL: input line, status line, header.
  const sqlRows = Math.max(1, body - 3);
  return { width, height, body, listRows, detailRows, slotRows, tableRows, violationRows, sqlRows };
}
