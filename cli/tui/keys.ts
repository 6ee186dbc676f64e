// Every key of `invtrace tui`, in one table: the dispatcher, the help overlay (`?`) and the README
// section (`invtrace tui --keys`, checked by keys.test.ts) all read it. No Ink import here: the
// table is plain data and the matcher takes Ink's key shape structurally.

/** Where a binding applies. `lists` = whichever list has the focus (commands, slots, policies, violations, SQL rows). */
export const SCOPES = ['global', 'lists', 'commands', 'queue', 'policies', 'sql', 'prompt'] as const;
export type KeyScope = (typeof SCOPES)[number];

export const SCOPE_TITLES: Readonly<Record<KeyScope, string>> = {
  global: 'everywhere (not while typing)',
  lists: 'any list',
  commands: 'commands (1)',
  queue: 'queue (2)',
  policies: 'policies (3)',
  sql: 'SQL (4)',
  prompt: 'while typing (search, filter, go to, SQL)',
};

export type Action =
  | 'help'
  | 'quit'
  | 'view-commands'
  | 'view-queue'
  | 'view-policies'
  | 'view-sql'
  | 'back'
  | 'focus'
  | 'down'
  | 'up'
  | 'page-down'
  | 'page-up'
  | 'first'
  | 'last'
  | 'left'
  | 'right'
  | 'search'
  | 'search-next'
  | 'search-prev'
  | 'filter'
  | 'filter-op'
  | 'filter-sid'
  | 'filter-domain'
  | 'filter-violations'
  | 'filter-clear'
  | 'doorbell-prev'
  | 'doorbell-next'
  | 'goto'
  | 'zoom'
  | 'detail-down'
  | 'detail-up'
  | 'open'
  | 'sql-edit'
  | 'sql-run'
  | 'sql-cancel'
  | 'accept'
  | 'cancel'
  | 'erase'
  | 'erase-all'
  | 'cursor-left'
  | 'cursor-right'
  | 'history-prev'
  | 'history-next';

export interface KeyBinding {
  /** Key names: a character, or up, down, left, right, pageup, pagedown, home, end, enter, escape, tab, backspace, space, ctrl+X. */
  readonly keys: readonly string[];
  readonly scope: KeyScope;
  readonly action: Action;
  readonly help: string;
}

// One row per line, as the table reads (a row is one record of the spec or of the CLI):
// prettier-ignore
export const KEYS: readonly KeyBinding[] = [
  { keys: ['?'], scope: 'global', action: 'help', help: 'show or hide this help' },
  { keys: ['q', 'ctrl+c'], scope: 'global', action: 'quit', help: 'quit (ctrl+c also while typing)' },
  { keys: ['1'], scope: 'global', action: 'view-commands', help: 'commands: the list and the selected row in detail' },
  { keys: ['2'], scope: 'global', action: 'view-queue', help: 'queue: the ring at the selected doorbell' },
  { keys: ['3'], scope: 'global', action: 'view-policies', help: 'policies: comparison and violations' },
  { keys: ['4'], scope: 'global', action: 'view-sql', help: 'SQL over the trace (and the replay tables)' },
  { keys: ['escape'], scope: 'global', action: 'back', help: 'close the help; back to the commands' },
  { keys: ['tab'], scope: 'global', action: 'focus', help: 'next pane of the view (policies / violations; SQL query / rows)' },

  { keys: ['j', 'down'], scope: 'lists', action: 'down', help: 'next row' },
  { keys: ['k', 'up'], scope: 'lists', action: 'up', help: 'previous row' },
  { keys: ['pagedown', 'ctrl+f', 'space'], scope: 'lists', action: 'page-down', help: 'page down' },
  { keys: ['pageup', 'ctrl+b'], scope: 'lists', action: 'page-up', help: 'page up' },
  { keys: ['g', 'home'], scope: 'lists', action: 'first', help: 'first row' },
  { keys: ['G', 'end'], scope: 'lists', action: 'last', help: 'last row' },
  { keys: ['h', 'left'], scope: 'lists', action: 'left', help: 'scroll columns left (policies, SQL rows)' },
  { keys: ['l', 'right'], scope: 'lists', action: 'right', help: 'scroll columns right' },

  { keys: ['/'], scope: 'commands', action: 'search', help: 'search: an op name, a number (seq, slot, field) or filter terms' },
  { keys: ['n'], scope: 'commands', action: 'search-next', help: 'next match' },
  { keys: ['N'], scope: 'commands', action: 'search-prev', help: 'previous match' },
  { keys: ['f'], scope: 'commands', action: 'filter', help: 'filter: op=, sid=, asid=, did=, domain=, kind=, slot=, seq=, error, verdict=, policy=' },
  { keys: ['o'], scope: 'commands', action: 'filter-op', help: 'filter on the selected row\'s op' },
  { keys: ['s'], scope: 'commands', action: 'filter-sid', help: 'filter on the selected row\'s SID' },
  { keys: ['d'], scope: 'commands', action: 'filter-domain', help: 'filter on the selected row\'s domain (ASID / DID)' },
  { keys: ['v'], scope: 'commands', action: 'filter-violations', help: 'only rows where a policy has a violation' },
  { keys: ['c'], scope: 'commands', action: 'filter-clear', help: 'clear the filter' },
  { keys: ['['], scope: 'commands', action: 'doorbell-prev', help: 'previous doorbell' },
  { keys: [']'], scope: 'commands', action: 'doorbell-next', help: 'next doorbell' },
  { keys: [':'], scope: 'commands', action: 'goto', help: 'go to a sequence number' },
  { keys: ['enter'], scope: 'commands', action: 'zoom', help: 'detail pane: full height or back' },
  { keys: ['J'], scope: 'commands', action: 'detail-down', help: 'scroll the detail pane down' },
  { keys: ['K'], scope: 'commands', action: 'detail-up', help: 'scroll the detail pane up' },

  { keys: ['['], scope: 'queue', action: 'doorbell-prev', help: 'previous doorbell' },
  { keys: [']'], scope: 'queue', action: 'doorbell-next', help: 'next doorbell' },
  { keys: ['enter'], scope: 'queue', action: 'open', help: 'the selected slot\'s command in the list' },

  { keys: ['enter'], scope: 'policies', action: 'open', help: 'on a violation: its command in the list' },

  { keys: ['enter'], scope: 'sql', action: 'sql-edit', help: 'on the rows: edit the query' },
  { keys: ['escape'], scope: 'sql', action: 'sql-cancel', help: 'stop the running query (else back to the commands)' },

  { keys: ['enter'], scope: 'prompt', action: 'accept', help: 'apply (SQL: run the query, then browse its rows)' },
  { keys: ['escape'], scope: 'prompt', action: 'cancel', help: 'cancel (SQL: stop the running query, or leave the editor)' },
  { keys: ['backspace', 'delete'], scope: 'prompt', action: 'erase', help: 'delete the character before the cursor' },
  { keys: ['ctrl+u'], scope: 'prompt', action: 'erase-all', help: 'clear the line' },
  { keys: ['left'], scope: 'prompt', action: 'cursor-left', help: 'cursor left' },
  { keys: ['right'], scope: 'prompt', action: 'cursor-right', help: 'cursor right' },
  { keys: ['up'], scope: 'prompt', action: 'history-prev', help: 'SQL: the previous query of this session' },
  { keys: ['down'], scope: 'prompt', action: 'history-next', help: 'SQL: the next query' },
];

/** The part of Ink's `Key` the matcher reads. */
export interface KeyState {
  readonly upArrow: boolean;
  readonly downArrow: boolean;
  readonly leftArrow: boolean;
  readonly rightArrow: boolean;
  readonly pageDown: boolean;
  readonly pageUp: boolean;
  readonly home: boolean;
  readonly end: boolean;
  readonly return: boolean;
  readonly escape: boolean;
  readonly ctrl: boolean;
  readonly tab: boolean;
  readonly backspace: boolean;
  readonly delete: boolean;
}

/** No key held: the base a key press sets one flag of. */
export const NO_KEY: KeyState = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  tab: false,
  backspace: false,
  delete: false,
};

const NAMED: Readonly<Record<string, (k: KeyState) => boolean>> = {
  up: (k) => k.upArrow,
  down: (k) => k.downArrow,
  left: (k) => k.leftArrow,
  right: (k) => k.rightArrow,
  pageup: (k) => k.pageUp,
  pagedown: (k) => k.pageDown,
  home: (k) => k.home,
  end: (k) => k.end,
  enter: (k) => k.return,
  escape: (k) => k.escape,
  tab: (k) => k.tab,
  backspace: (k) => k.backspace,
  delete: (k) => k.delete,
};

/** Whether a key name of the table is the key pressed. */
export function keyMatches(name: string, input: string, key: KeyState): boolean {
  const named = NAMED[name];
  if (named) return named(key);
  if (name.startsWith('ctrl+')) return key.ctrl && input === name.slice(5);
  if (name === 'space') return input === ' ' && !key.ctrl;
  return input === name && !key.ctrl && !key.escape;
}

/** The action of the first binding in `scopes` (in that order of priority: a view's keys before the global ones) that the key matches. */
export function resolveKey(input: string, key: KeyState, scopes: readonly KeyScope[]): Action | undefined {
  for (const scope of scopes) {
    for (const b of KEYS) if (b.scope === scope && b.keys.some((k) => keyMatches(k, input, key))) return b.action;
  }
  return undefined;
}

/** The bindings grouped by scope, for the help overlay. */
export function keysByScope(): { scope: KeyScope; title: string; bindings: KeyBinding[] }[] {
  return SCOPES.map((scope) => ({ scope, title: SCOPE_TITLES[scope], bindings: KEYS.filter((b) => b.scope === scope) }));
}

/** The README's key table (between the `tui keys` markers). */
export function keysMarkdown(): string {
  const lines = ['| keys | where | what |', '| --- | --- | --- |'];
  for (const b of KEYS)
    lines.push(
      `| ${b.keys.map((k) => `\`${k === '|' ? '\\|' : k}\``).join(' ')} | ${SCOPE_TITLES[b.scope]} | ${b.help.replaceAll('|', '\\|')} |`,
    );
  return lines.join('\n');
}
