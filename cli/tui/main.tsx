// `invtrace tui`, once its inputs are resolved (source.ts; bad ones exit 2 before the screen
// changes): switch to the alternate screen, render Root with Ink, and clean up: the screen, the
// private work folder, the worker threads. Only cli/commands/tui.ts imports this module, and only
// when the command runs.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink';
import { Root, type TuiOptions } from './Root.js';
import { enterAlternateScreen, homeAnchored } from './screen.js';
import type { TuiInput } from './source.js';

export async function runTui(input: TuiInput, options: TuiOptions): Promise<number> {
  const workDir = mkdtempSync(join(tmpdir(), 'invtrace-tui-'));
  const cleanup = () => rmSync(workDir, { recursive: true, force: true });
  let fatal: Error | undefined;
  let unmount = () => {};
  const screen = enterAlternateScreen(process.stdout, () => {
    unmount();
    cleanup();
  });
  try {
    const instance = render(
      <Root
        input={input}
        options={options}
        workDir={workDir}
        onQuit={(e) => {
          fatal = e;
          instance.unmount();
        }}
      />,
      { stdout: homeAnchored(process.stdout), exitOnCtrlC: false, patchConsole: true, maxFps: 60 },
    );
    unmount = () => instance.unmount();
    await instance.waitUntilExit();
  } finally {
    screen.restore();
    cleanup();
  }
  if (fatal) throw fatal;
  return 0;
}
