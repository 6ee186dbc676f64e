// The TUI's colours by meaning; views never name a raw colour. Basic ANSI names only, so the
// terminal's own palette (and a light or dark background) decides how they look.

export const theme = Object.freeze({
  text: undefined as string | undefined,
  dim: 'gray',
  title: 'cyan',
  label: 'blue',
  header: 'gray',
  selectedFg: 'black',
  selectedBg: 'cyan',
  doorbell: 'yellow',
  match: 'magenta',
  error: 'red',
  violation: 'red',
  ok: 'green',
  busy: 'yellow',
  tab: 'cyan',
  ring: { free: 'gray', outstanding: 'yellow', published: 'green', cons: 'red', prod: 'cyan', both: 'magenta' } as const,
});
