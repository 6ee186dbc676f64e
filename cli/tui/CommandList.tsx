// The command list: a header and exactly `height` rows from `cursor.top`, formatted only for the
// rows on screen (describe.ts). Selected, search-match, doorbell and violation rows by theme.

import { Box } from 'ink';
import { lowerBound } from './model/filter.js';
import { listHeader, listLine } from './model/describe.js';
import { kindName, type TraceModel } from './model/trace-model.js';
import { Blank, Line } from './Line.js';
import type { Cursor } from './state.js';
import { theme } from './theme.js';

export interface CommandListProps {
  readonly model: TraceModel;
  /** Visible rows (a filter's), or undefined for every row. */
  readonly rows: Uint32Array | undefined;
  readonly cursor: Cursor;
  readonly height: number;
  readonly width: number;
  /** Visible indices that match the search. */
  readonly matches?: Uint32Array | undefined;
  /** Rows with a violation under some policy (1), when results are in. */
  readonly violations?: Uint8Array | undefined;
}

export function CommandList({ model, rows, cursor, height, width, matches, violations }: CommandListProps) {
  const count = rows ? rows.length : model.rows;
  const lines = [];
  for (let i = cursor.top; i < Math.min(count, cursor.top + height); i++) {
    const row = rows ? rows[i]! : i;
    const selected = i === cursor.index;
    const match = matches !== undefined && matches[lowerBound(matches, i)] === i;
    const bad = violations !== undefined && violations[row] === 1;
    let text = listLine(model, row, width);
    if (bad) text = `!${text.slice(1)}`;
    const color = selected
      ? theme.selectedFg
      : bad
        ? theme.violation
        : match
          ? theme.match
          : kindName(model, row) === 'doorbell'
            ? theme.doorbell
            : theme.text;
    lines.push(<Line key={i} text={text} width={width} color={color} bg={selected ? theme.selectedBg : undefined} bold={match} />);
  }
  return (
    <Box flexDirection="column">
      <Line text={listHeader(model, width)} width={width} color={theme.header} />
      {lines}
      <Blank n={height - lines.length} width={width} />
    </Box>
  );
}
