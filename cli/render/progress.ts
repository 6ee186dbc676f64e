// Progress on stderr for long jobs: a single rewritten line on a terminal, nothing otherwise
// (scripts and CI logs stay clean).

import { isTerminal, writeErr } from '../stdio.js';

/** Its functions use no `this`: callers hand `p.update` and `p.stage` on as callbacks. */
export interface Progress {
  readonly update: (done: number) => void;
  /** A stage starts: shows `label...` now, and later counts under that label. */
  readonly stage: (label: string) => void;
  readonly done: () => void;
}

export function progress(first: string | undefined, unit = 'events'): Progress {
  const tty = isTerminal(2) && first !== undefined;
  let label = first;
  let last = 0;
  return {
    update: (done) => {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      writeErr(`\r${label}: ${done.toLocaleString('en-US')} ${unit}\x1b[K`);
    },
    stage: (next) => {
      label = next;
      if (tty) writeErr(`\r${label}...\x1b[K`);
    },
    done: () => {
      if (tty) writeErr('\r\x1b[K');
    },
  };
}
