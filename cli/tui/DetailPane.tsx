// The detail pane: a title and `height` lines of the selected row's detail from `top`.

import { Box } from 'ink';
import type { DetailLine } from './model/describe.js';
import { Blank, Line } from './Line.js';
import { theme } from './theme.js';

export interface DetailPaneProps {
  readonly title: string;
  readonly lines: readonly DetailLine[];
  readonly top: number;
  readonly height: number;
  readonly width: number;
}

const COLORS: Readonly<Record<NonNullable<DetailLine['style']>, string>> = {
  title: theme.title,
  label: theme.label,
  error: theme.error,
  dim: theme.dim,
  violation: theme.violation,
};

export function DetailPane({ title, lines, top, height, width }: DetailPaneProps) {
  const from = Math.max(0, Math.min(top, lines.length - height));
  const shown = lines.slice(from, from + height);
  const more = lines.length - from - shown.length;
  const head = `── ${title}${from > 0 ? `  (K: ${from} above)` : ''}${more > 0 ? `  (J: ${more} more)` : ''} `;
  return (
    <Box flexDirection="column">
      <Line text={head.padEnd(width, '─')} width={width} color={theme.header} />
      {shown.map((l, i) => (
        <Line key={i} text={` ${l.text}`} width={width} color={l.style ? COLORS[l.style] : theme.text} bold={l.style === 'title'} />
      ))}
      <Blank n={height - shown.length} width={width} />
    </Box>
  );
}
