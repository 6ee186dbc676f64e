// The help overlay (`?`): every key of the key table by where it applies, then the filter terms.
// j/k scroll it; ? or Esc closes it.

import { Box } from 'ink';
import { keysByScope } from './keys.js';
import { TERMS } from './model/filter.js';
import { Blank, Line } from './Line.js';
import { theme } from './theme.js';

export interface HelpLine {
  readonly text: string;
  readonly heading?: boolean;
}

/** The overlay's lines, from the key table and the filter terms. */
export function helpLines(): HelpLine[] {
  const out: HelpLine[] = [];
  for (const g of keysByScope()) {
    out.push({ text: g.title, heading: true });
    for (const b of g.bindings) out.push({ text: `  ${b.keys.join(' ').padEnd(22)} ${b.help}` });
  }
  out.push({ text: 'filter and search terms (f, /): key=value[,value]; -key=value negates; terms AND', heading: true });
  for (const t of TERMS) out.push({ text: `  ${`${t.key}=`.padEnd(22)} ${t.help}` });
  out.push({ text: '  a bare word            an op name (search); a bare number: seq, slot or a key field' });
  return out;
}

export interface HelpOverlayProps {
  readonly lines: readonly HelpLine[];
  readonly top: number;
  readonly height: number;
  readonly width: number;
}

export function HelpOverlay({ lines, top, height, width }: HelpOverlayProps) {
  const rows = height - 1;
  const from = Math.max(0, Math.min(top, lines.length - rows));
  const shown = lines.slice(from, from + rows);
  const more = lines.length - from - shown.length;
  return (
    <Box flexDirection="column">
      <Line
        text={`── keys ${more > 0 ? `(j: ${more} more) ` : ''}${from > 0 ? `(k: ${from} above) ` : ''}`.padEnd(width, '─')}
        width={width}
        color={theme.title}
        bold
      />
      {shown.map((l, i) => (
        <Line key={i} text={l.text} width={width} color={l.heading ? theme.title : theme.text} bold={l.heading ?? false} />
      ))}
      <Blank n={rows - shown.length} width={width} />
    </Box>
  );
}
