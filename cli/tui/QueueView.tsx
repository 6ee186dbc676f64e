// The queue view: the guest ring at one doorbell. Producer and consumer positions (index and wrap
// bit), the whole ring as a bar, and the slots from CONS to PROD with the command each one held
// when the guest wrote PROD.

import { Box, Text } from 'ink';
import { hex } from '../../formats/bits.js';
import { listHeader, listLine, posLabel } from './model/describe.js';
import { between } from '../../formats/ring.js';
import { queueAt, ringCells, type Cell } from './model/queue.js';
import { ringPeriod, slotOf, type TraceModel } from './model/trace-model.js';
import { Blank, Line } from './Line.js';
import { queueLinePositions, queueSlotRows, type Cursor } from './state.js';
import { theme } from './theme.js';

export interface QueueViewProps {
  readonly model: TraceModel;
  readonly doorbell: number;
  readonly slots: Cursor;
  /** Lines for the slot list. */
  readonly height: number;
  readonly width: number;
}

const GLYPH: Readonly<Record<Cell, string>> = { free: '·', outstanding: '░', published: '█', cons: 'C', prod: 'P', both: 'X' };

function RingBar({ cells }: { readonly cells: readonly Cell[] }) {
  const runs: { cell: Cell; n: number }[] = [];
  for (const c of cells) {
    const last = runs[runs.length - 1];
    if (last && last.cell === c) last.n++;
    else runs.push({ cell: c, n: 1 });
  }
  return (
    <Text wrap="truncate">
      {' ['}
      {runs.map((r, i) => (
        <Text key={i} color={theme.ring[r.cell]} bold={r.cell === 'cons' || r.cell === 'prod' || r.cell === 'both'}>
          {GLYPH[r.cell].repeat(r.n)}
        </Text>
      ))}
      {']'}
    </Text>
  );
}

export function QueueView({ model: m, doorbell, slots, height, width }: QueueViewProps) {
  if (m.doorbells.count === 0) {
    return (
      <Box flexDirection="column">
        <Line text=" no doorbell in this trace" width={width} color={theme.dim} />
        <Blank n={height + 4} width={width} />
      </Box>
    );
  }
  const q = queueAt(m, doorbell);
  const period = ringPeriod(m);
  const barWidth = Math.max(8, width - 4);
  const cells = ringCells(m, q, barWidth);
  const perCell = m.entries / barWidth;
  const positions = queueLinePositions(m, doorbell, slots.top, height);
  const rows = queueSlotRows(m, doorbell, slots.top, height);
  const lineWidth = width - 6;
  const lines = positions.map((pos, i) => {
    const line = slots.top + i;
    const mark =
      pos === q.prod && pos === q.consBefore
        ? 'C=P '
        : pos === q.prod
          ? 'PROD'
          : pos === q.consBefore
            ? 'CONS'
            : pos === q.consAfter && q.stopped
              ? 'STOP'
              : '    ';
    const published = between(pos, q.prevProd, q.prod, period);
    const outstanding = between(pos, q.consBefore, q.prevProd, period);
    const row = rows[i]!;
    const text = row >= 0 ? listLine(m, row, lineWidth) : `   ${hex(slotOf(m, pos))} (never written)`;
    const selected = line === slots.index;
    const color = selected ? theme.selectedFg : published ? theme.ring.published : outstanding ? theme.ring.outstanding : theme.dim;
    return <Line key={line} text={` ${mark} ${text}`} width={width} color={color} bg={selected ? theme.selectedBg : undefined} />;
  });
  return (
    <Box flexDirection="column">
      <Line
        text={` doorbell ${(doorbell + 1).toLocaleString('en-US')} of ${m.doorbells.count.toLocaleString('en-US')} at seq ${q.row}: PROD ${posLabel(m, q.prevProd)} → ${posLabel(m, q.prod)}, ${q.published} published`}
        width={width}
        color={theme.title}
        bold
      />
      <Line
        text={` CONS ${posLabel(m, q.consBefore)} when written (${q.outstanding} outstanding) → ${q.stopped ? `stops at ${posLabel(m, q.consAfter)} (error)` : `${posLabel(m, q.consAfter)} after`}; ring of ${m.entries} x ${m.header.desc_bytes} B`}
        width={width}
        color={q.stopped ? theme.error : theme.text}
      />
      <RingBar cells={cells} />
      <Line
        text={` · free ░ outstanding █ published C CONS P PROD X both; ${perCell > 1 ? `${Math.round(perCell * 10) / 10} slots/cell` : '1 slot/cell'}`}
        width={width}
        color={theme.dim}
      />
      <Line text={` pos  ${listHeader(m, lineWidth)}`} width={width} color={theme.header} />
      {lines}
      <Blank n={height - lines.length} width={width} />
    </Box>
  );
}
