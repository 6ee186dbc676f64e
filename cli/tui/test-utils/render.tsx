// Rendering a TUI component in tests: ink-testing-library under React's act(), at a fixed
// terminal size (80 x 24 unless told), with keystrokes as the terminal sends them and a waitFor
// for what background work (replay, DuckDB) draws later. Assertions read the frame.

import { act, type ReactElement } from 'react';
import { render } from 'ink-testing-library';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export const SIZE = { columns: 80, rows: 24 } as const;

/** Bytes a terminal sends for the keys the table names. */
export const KEY = {
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  pageUp: '\x1b[5~',
  pageDown: '\x1b[6~',
  home: '\x1b[H',
  end: '\x1b[F',
  enter: '\r',
  escape: '\x1b',
  tab: '\t',
  backspace: '\x7f',
  ctrlC: '\x03',
} as const;

const tick = () => new Promise<void>((r) => setImmediate(r));

export interface Rendered {
  frame(): string;
  lines(): string[];
  /** Sends keys one by one (each as its own read, as a person types), letting the frame settle. */
  press(...keys: string[]): Promise<void>;
  /** Types text into a prompt, one character a read. */
  type(text: string): Promise<void>;
  /** Waits until the frame satisfies `ok` (background work), or fails with the last frame. */
  waitFor(ok: (frame: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  unmount(): Promise<void>;
}

export async function renderTui(node: ReactElement): Promise<Rendered> {
  let r!: ReturnType<typeof render>;
  await act(async () => {
    r = render(node);
    await tick();
  });
  const frame = () => r.lastFrame() ?? '';
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      await act(async () => {
        r.stdin.write(k);
        await tick(); // a lone Esc is flushed on the next turn
        await tick();
      });
    }
  };
  return {
    frame,
    lines: () => frame().split('\n'),
    press,
    type: (text) => press(...text),
    async waitFor(ok, what, timeoutMs = 60_000) {
      const t0 = Date.now();
      for (;;) {
        if (ok(frame())) return frame();
        if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}; last frame:\n${frame()}`);
        await act(async () => {
          await new Promise((res) => setTimeout(res, 50));
        });
      }
    },
    async unmount() {
      await act(async () => {
        r.unmount();
        await tick();
      });
    },
  };
}
