// The screen before the trace is in: ingesting captures (a worker thread) and reading the trace
// into typed arrays, each with its progress.

import { Box } from 'ink';
import { Blank, Line } from './Line.js';
import { theme } from './theme.js';

export interface LoadProgress {
  readonly phase: 'ingest' | 'load';
  /** What is being read. */
  readonly what: string;
  /** 0..1 when known. */
  readonly fraction?: number;
  readonly detail: string;
}

export interface LoaderProps {
  readonly progress: LoadProgress;
  readonly width: number;
  readonly height: number;
}

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function Loader({ progress, width, height }: LoaderProps) {
  const verb = progress.phase === 'ingest' ? 'ingesting' : 'reading';
  const barWidth = Math.max(10, width - 4);
  const f = progress.fraction;
  const bar =
    f === undefined
      ? `${SPIN[Math.floor(Date.now() / 100) % SPIN.length]} `
      : `${'█'.repeat(Math.round(f * barWidth))}${'░'.repeat(barWidth - Math.round(f * barWidth))}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Line text=" invtrace tui" width={width} color={theme.title} bold />
      <Line text={` ${verb} ${progress.what}`} width={width} />
      <Line text={` ${bar}`} width={width} color={theme.busy} />
      <Line text={` ${progress.detail}`} width={width} color={theme.dim} />
      <Blank n={height - 4} width={width} />
    </Box>
  );
}
