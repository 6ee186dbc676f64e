// The TUI's keyboard and selection state as one pure reducer: (state, key action, what the screen
// holds) -> next state and, for what is not state (quit, run or stop a SQL query), an effect the
// hook performs. Views never change state; useTui (hooks.ts) feeds keys here.

import { step } from '../../formats/ring.js';
import type { Action, KeyScope } from './keys.js';
import type { Layout } from './layout.js';
import { lowerBound, parseQuery, selectRows, type QueryContext } from './model/filter.js';
import { doorbellOfRow, queueAt, slotRows } from './model/queue.js';
import { violationsOf, type PolicyResults } from './model/results.js';
import { KEY_FIELDS, NONE, opName, ringPeriod, slotOf, type TraceModel } from './model/trace-model.js';

export const VIEWS = ['commands', 'queue', 'policies', 'sql'] as const;
export type View = (typeof VIEWS)[number];

/** A cursor over a list: the selected index and the first index on screen. */
export interface Cursor {
  readonly index: number;
  readonly top: number;
}

export const CURSOR0: Cursor = { index: 0, top: 0 };

export type PromptKind = 'search' | 'filter' | 'goto';

export interface LineEdit {
  readonly text: string;
  readonly cursor: number;
}

export interface TuiState {
  readonly view: View;
  readonly help: boolean;
  readonly helpTop: number;
  /** Commands: cursor over the visible rows (the filter's rows, or all). */
  readonly list: Cursor;
  readonly filter: { readonly text: string; readonly rows?: Uint32Array };
  /** Search: the expression and the visible indices that match it. */
  readonly search: { readonly text: string; readonly matches?: Uint32Array };
  readonly prompt?: { readonly kind: PromptKind } & LineEdit;
  readonly zoom: boolean;
  readonly detailTop: number;
  /** Queue: the doorbell shown, and a cursor over its slot lines. */
  readonly queue: { readonly doorbell: number; readonly slots: Cursor };
  readonly policies: { readonly focus: 'table' | 'violations'; readonly table: Cursor; readonly violations: Cursor; readonly col: number };
  readonly sql: {
    readonly focus: 'input' | 'rows';
    readonly edit: LineEdit;
    readonly history: readonly string[];
    readonly historyAt: number;
    readonly rows: Cursor;
    readonly col: number;
  };
  readonly status?: { readonly text: string; readonly error?: boolean };
}

export const DEFAULT_SQL = 'SELECT op, commands FROM commands_by_op ORDER BY commands DESC';

export function initialState(view: View = 'commands'): TuiState {
  return {
    view,
    help: false,
    helpTop: 0,
    list: CURSOR0,
    filter: { text: '' },
    search: { text: '' },
    zoom: false,
    detailTop: 0,
    queue: { doorbell: 0, slots: CURSOR0 },
    policies: { focus: 'table', table: CURSOR0, violations: CURSOR0, col: 0 },
    sql: { focus: 'input', edit: { text: DEFAULT_SQL, cursor: DEFAULT_SQL.length }, history: [], historyAt: 0, rows: CURSOR0, col: 0 },
  };
}

/** What the reducer needs to know about the screen and the data. */
export interface Env {
  readonly model?: TraceModel;
  readonly results?: PolicyResults;
  readonly resultsPending?: string;
  readonly layout: Layout;
  /** Lines of the help overlay. */
  readonly helpLines: number;
  /** Rows of the current SQL result, and whether a query runs. */
  readonly sqlRows: number;
  readonly sqlRunning: boolean;
  /** Columns the policies table and the SQL result can scroll through. */
  readonly policyColumns: number;
  readonly sqlColumns: number;
}

export type Effect = { readonly kind: 'quit' } | { readonly kind: 'sql-run'; readonly sql: string } | { readonly kind: 'sql-cancel' };

export interface Step {
  readonly state: TuiState;
  readonly effect?: Effect;
}

const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

/** Moves a cursor to `index`, scrolling as little as needed to keep it on a screen of `height`. */
export function moveCursor(c: Cursor, index: number, count: number, height: number): Cursor {
  if (count <= 0) return CURSOR0;
  const i = clamp(index, 0, count - 1);
  let top = c.top;
  if (i < top) top = i;
  else if (i >= top + height) top = i - height + 1;
  return { index: i, top: clamp(top, 0, Math.max(0, count - height)) };
}

/** Visible rows of the commands list. */
export const visibleCount = (s: TuiState, m: TraceModel | undefined): number => s.filter.rows?.length ?? m?.rows ?? 0;
export const rowAt = (s: TuiState, i: number): number => (s.filter.rows ? s.filter.rows[i]! : i);
export const selectedRow = (s: TuiState, m: TraceModel | undefined): number | undefined =>
  visibleCount(s, m) > 0 ? rowAt(s, s.list.index) : undefined;

/** Index of the visible row at or after trace row `row` (the last one when none). */
function indexOfRow(s: TuiState, m: TraceModel, row: number): number {
  if (!s.filter.rows) return clamp(row, 0, m.rows - 1);
  return Math.min(lowerBound(s.filter.rows, row), s.filter.rows.length - 1);
}

/** The key scopes in force, by priority: what the keys mean right now. */
export function activeScopes(s: TuiState): KeyScope[] {
  if (s.prompt) return ['prompt'];
  if (s.help) return ['global', 'lists'];
  if (s.view === 'sql' && s.sql.focus === 'input') return ['prompt'];
  return [s.view, 'global', 'lists'];
}

export function typing(s: TuiState): boolean {
  return s.prompt !== undefined || (!s.help && s.view === 'sql' && s.sql.focus === 'input');
}

function queryContext(env: Env): QueryContext | undefined {
  if (!env.model) return undefined;
  return {
    model: env.model,
    ...(env.results ? { results: env.results } : {}),
    ...(env.resultsPending ? { resultsPending: env.resultsPending } : {}),
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Applies a filter expression: the visible rows, the cursor kept on the same row (or the next one shown). */
export function applyFilter(s: TuiState, text: string, env: Env): TuiState {
  const m = env.model;
  const ctx = queryContext(env);
  if (!m || !ctx) return { ...s, status: { text: 'no trace loaded', error: true } };
  const current = selectedRow(s, m) ?? 0;
  if (text.trim() === '') {
    const next = { ...s, filter: { text: '' } };
    return withSearch(
      { ...next, list: moveCursor(s.list, current, m.rows, env.layout.listRows), status: { text: `filter cleared: ${fmt(m.rows)} rows` } },
      env,
    );
  }
  const q = parseQuery(text, ctx);
  if (!q.ok) return { ...s, status: { text: `filter: ${q.error.message}`, error: true } };
  const rows = selectRows(m, q.value.test);
  const next: TuiState = { ...s, filter: { text: q.value.text, rows } };
  const index = rows.length === 0 ? 0 : Math.min(lowerBound(rows, current), rows.length - 1);
  return withSearch(
    {
      ...next,
      list: moveCursor(
        { index: 0, top: Math.max(0, index - Math.floor(env.layout.listRows / 2)) },
        index,
        rows.length,
        env.layout.listRows,
      ),
      detailTop: 0,
      status: { text: `filter ${q.value.text}: ${fmt(rows.length)} of ${fmt(m.rows)} rows` },
    },
    env,
  );
}

/** Recomputes the search matches over the visible rows. */
function withSearch(s: TuiState, env: Env): TuiState {
  if (s.search.text === '' || !env.model) return { ...s, search: { text: s.search.text } };
  const q = parseQuery(s.search.text, queryContext(env)!);
  if (!q.ok) return { ...s, search: { text: s.search.text } };
  return { ...s, search: { text: s.search.text, matches: matchIndices(s, env.model, q.value.test) } };
}

function matchIndices(s: TuiState, m: TraceModel, test: (row: number) => boolean): Uint32Array {
  if (!s.filter.rows) return selectRows(m, test);
  const rows = s.filter.rows;
  const tmp = new Uint32Array(rows.length);
  let k = 0;
  for (let i = 0; i < rows.length; i++) if (test(rows[i]!)) tmp[k++] = i;
  return tmp.slice(0, k);
}

function runSearch(s: TuiState, text: string, env: Env): TuiState {
  const m = env.model;
  const ctx = queryContext(env);
  if (!m || !ctx) return s;
  const q = parseQuery(text, ctx);
  if (!q.ok) return { ...s, status: { text: `search: ${q.error.message}`, error: true } };
  const next = { ...s, search: { text: q.value.text, matches: matchIndices(s, m, q.value.test) } };
  return stepMatch(next, 1, env, true);
}

/** Moves to the next (dir 1) or previous (-1) match, wrapping; `here` counts the current row. */
function stepMatch(s: TuiState, dir: 1 | -1, env: Env, here = false): TuiState {
  const mt = s.search.matches;
  if (!mt) return { ...s, status: { text: 'no search (press / first)', error: true } };
  if (mt.length === 0) return { ...s, status: { text: `search ${s.search.text}: no match`, error: true } };
  const cur = s.list.index;
  let k: number;
  if (dir === 1) {
    k = lowerBound(mt, here ? cur : cur + 1);
    if (k >= mt.length) k = 0;
  } else {
    k = lowerBound(mt, cur) - 1;
    if (k < 0) k = mt.length - 1;
  }
  const index = mt[k]!;
  return {
    ...s,
    list: moveCursor(s.list, index, visibleCount(s, env.model), env.layout.listRows),
    detailTop: 0,
    status: { text: `search ${s.search.text}: match ${fmt(k + 1)} of ${fmt(mt.length)} (seq ${rowAt(s, index)})` },
  };
}

/** Shows trace row `row` in the commands view, clearing a filter that hides it. */
export function jumpToRow(s: TuiState, row: number, env: Env, why: string): TuiState {
  const m = env.model;
  if (!m) return { ...s, status: { text: 'no trace loaded: cannot show the command', error: true } };
  if (row < 0 || row >= m.rows) return { ...s, status: { text: `seq ${row} is not in the trace (0..${m.rows - 1})`, error: true } };
  let next: TuiState = { ...s, view: 'commands', zoom: false, detailTop: 0 };
  let note = '';
  if (next.filter.rows && next.filter.rows[lowerBound(next.filter.rows, row)] !== row) {
    next = withSearch({ ...next, filter: { text: '' } }, env);
    note = ' (filter cleared to show it)';
  }
  const index = indexOfRow(next, m, row);
  const half = Math.floor(env.layout.listRows / 2);
  return {
    ...next,
    list: moveCursor({ index, top: Math.max(0, index - half) }, index, visibleCount(next, m), env.layout.listRows),
    status: { text: `${why}: seq ${row}${note}` },
  };
}

/** A quick filter term from the selected row (o, s, d, v), replacing a term of the same key. */
function quickFilter(s: TuiState, action: Action, env: Env): TuiState {
  const m = env.model;
  const row = selectedRow(s, m);
  if (!m || row === undefined) return s;
  let term: string;
  if (action === 'filter-violations') term = 'verdict=violation';
  else if (action === 'filter-op') {
    const op = opName(m, row);
    if (op === undefined) return { ...s, status: { text: 'the selected row has no op', error: true } };
    term = `op=${op}`;
  } else {
    const key = action === 'filter-sid' ? 'sid' : KEY_FIELDS[m.arch].domain;
    const v = m.keys[key]?.[row];
    if (v === undefined || v === NONE) return { ...s, status: { text: `the selected row has no ${key}`, error: true } };
    term = `${action === 'filter-sid' ? 'sid' : 'domain'}=0x${v.toString(16)}`;
  }
  const key = term.slice(0, term.indexOf('='));
  const kept = s.filter.text.split(/\s+/).filter((w) => w !== '' && !w.replace(/^[-!]/, '').startsWith(`${key}=`));
  return applyFilter(s, [...kept, term].join(' '), env);
}

/** The commands list's `[` / `]`: the previous or next doorbell, or the first row shown after it. */
function stepDoorbell(s: TuiState, dir: 1 | -1, env: Env): TuiState {
  const m = env.model;
  const row = selectedRow(s, m);
  if (!m || row === undefined || m.doorbells.count === 0) return s;
  const d = doorbellOfRow(m, row);
  const onIt = m.doorbells.row[d] === row;
  const target = dir === 1 ? (onIt || m.doorbells.row[d]! < row ? d + 1 : d) : d - 1;
  if (target < 0 || target >= m.doorbells.count)
    return { ...s, status: { text: dir === 1 ? 'no doorbell after this row' : 'no doorbell before this row' } };
  const tRow = m.doorbells.row[target]!;
  const count = visibleCount(s, m);
  let index: number;
  if (!s.filter.rows) index = tRow;
  else if (dir === 1) index = Math.min(lowerBound(s.filter.rows, tRow), count - 1);
  else index = Math.max(0, lowerBound(s.filter.rows, tRow + 1) - 1);
  return {
    ...s,
    list: moveCursor(s.list, index, count, env.layout.listRows),
    detailTop: 0,
    status: { text: `doorbell ${fmt(target + 1)} of ${fmt(m.doorbells.count)} at seq ${tRow}` },
  };
}

/** Number of lines the queue view lists for doorbell `d`: CONS - 4 up to PROD + 4. */
export function queueSlotSpan(m: TraceModel, d: number): { first: number; count: number } {
  const q = queueAt(m, d);
  const count = Math.min(m.entries, q.outstanding + 8);
  return { first: step(q.consBefore, -4, ringPeriod(m)), count };
}

function enterQueue(s: TuiState, env: Env): TuiState {
  const m = env.model;
  const row = selectedRow(s, m);
  if (!m || row === undefined || m.doorbells.count === 0) return { ...s, view: 'queue' };
  return setDoorbell({ ...s, view: 'queue' }, doorbellOfRow(m, row), env);
}

function setDoorbell(s: TuiState, d: number, env: Env): TuiState {
  const m = env.model!;
  const doorbell = clamp(d, 0, m.doorbells.count - 1);
  const span = queueSlotSpan(m, doorbell);
  const prodLine = Math.min(span.count - 1, 4 + queueAt(m, doorbell).outstanding);
  return {
    ...s,
    queue: {
      doorbell,
      slots: moveCursor(
        { index: 0, top: Math.max(0, prodLine - env.layout.slotRows + 2) },
        Math.max(0, prodLine - 1),
        span.count,
        env.layout.slotRows,
      ),
    },
  };
}

/** The list the movement keys act on now: its cursor, length and page height. */
interface Focused {
  readonly cursor: Cursor;
  readonly count: number;
  readonly height: number;
  set(c: Cursor): TuiState;
}

function focused(s: TuiState, env: Env): Focused | undefined {
  const L = env.layout;
  if (s.help)
    return {
      cursor: { index: s.helpTop, top: s.helpTop },
      count: Math.max(1, env.helpLines - L.body + 2),
      height: 1,
      set: (c) => ({ ...s, helpTop: c.index }),
    };
  switch (s.view) {
    case 'commands':
      return {
        cursor: s.list,
        count: visibleCount(s, env.model),
        height: L.listRows,
        set: (c) => ({ ...s, list: c, detailTop: c.index === s.list.index ? s.detailTop : 0 }),
      };
    case 'queue': {
      if (!env.model || env.model.doorbells.count === 0) return undefined;
      const span = queueSlotSpan(env.model, s.queue.doorbell);
      return { cursor: s.queue.slots, count: span.count, height: L.slotRows, set: (c) => ({ ...s, queue: { ...s.queue, slots: c } }) };
    }
    case 'policies': {
      const r = env.results;
      if (!r) return undefined;
      const p = s.policies;
      if (p.focus === 'table')
        return {
          cursor: p.table,
          count: r.output.policies.length,
          height: L.tableRows,
          set: (c) => ({ ...s, policies: { ...p, table: c, violations: c.index === p.table.index ? p.violations : CURSOR0 } }),
        };
      return {
        cursor: p.violations,
        count: violationsOf(r, p.table.index).length,
        height: L.violationRows,
        set: (c) => ({ ...s, policies: { ...p, violations: c } }),
      };
    }
    case 'sql':
      return { cursor: s.sql.rows, count: env.sqlRows, height: L.sqlRows, set: (c) => ({ ...s, sql: { ...s.sql, rows: c } }) };
  }
}

function scrollColumns(s: TuiState, dir: 1 | -1, env: Env): TuiState {
  if (s.view === 'policies')
    return { ...s, policies: { ...s.policies, col: clamp(s.policies.col + dir, 0, Math.max(0, env.policyColumns - 1)) } };
  if (s.view === 'sql') return { ...s, sql: { ...s.sql, col: clamp(s.sql.col + dir, 0, Math.max(0, env.sqlColumns - 1)) } };
  return s;
}

function edit(e: LineEdit, action: Action | 'insert', text = ''): LineEdit {
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- the editing keys only; any other key leaves the line as it is
  switch (action) {
    case 'insert':
      return { text: e.text.slice(0, e.cursor) + text + e.text.slice(e.cursor), cursor: e.cursor + text.length };
    case 'erase':
      return e.cursor === 0 ? e : { text: e.text.slice(0, e.cursor - 1) + e.text.slice(e.cursor), cursor: e.cursor - 1 };
    case 'erase-all':
      return { text: '', cursor: 0 };
    case 'cursor-left':
      return { ...e, cursor: Math.max(0, e.cursor - 1) };
    case 'cursor-right':
      return { ...e, cursor: Math.min(e.text.length, e.cursor + 1) };
    default:
      return e;
  }
}

function promptKey(s: TuiState, action: Action | undefined, input: string, env: Env): Step {
  const p = s.prompt!;
  if (action === 'cancel') return { state: { ...s, prompt: undefined, status: undefined } };
  if (action === 'accept') {
    const base = { ...s, prompt: undefined };
    if (p.kind === 'filter') return { state: applyFilter(base, p.text, env) };
    if (p.kind === 'search')
      return {
        state: p.text.trim() === '' ? { ...base, search: { text: '' }, status: { text: 'search cleared' } } : runSearch(base, p.text, env),
      };
    const n = Number(p.text.trim());
    if (!Number.isInteger(n)) return { state: { ...base, status: { text: `go to: "${p.text}" is not a sequence number`, error: true } } };
    return { state: jumpToRow(base, n, env, 'go to') };
  }
  if (action === 'history-prev' || action === 'history-next') return { state: s };
  const e = action ? edit(p, action) : edit(p, 'insert', printable(input));
  return { state: { ...s, prompt: { kind: p.kind, ...e } } };
}

/** Text a key inserts: printable characters only (a paste may bring several). */
const printable = (input: string) => input.replace(/[\x00-\x1f\x7f]/g, '');

function sqlInputKey(s: TuiState, action: Action | undefined, input: string, env: Env): Step {
  const q = s.sql;
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- the keys the SQL line handles itself; the default hands the rest to the line editor
  switch (action) {
    case 'accept': {
      const sql = q.edit.text.trim();
      if (sql === '') return { state: s };
      const history = q.history[q.history.length - 1] === sql ? q.history : [...q.history, sql];
      return {
        state: { ...s, sql: { ...q, focus: 'rows', history, historyAt: history.length, rows: CURSOR0, col: 0 } },
        effect: { kind: 'sql-run', sql },
      };
    }
    case 'cancel':
      if (env.sqlRunning) return { state: s, effect: { kind: 'sql-cancel' } };
      return { state: { ...s, sql: { ...q, focus: 'rows' } } };
    case 'history-prev':
    case 'history-next': {
      const at = clamp(q.historyAt + (action === 'history-prev' ? -1 : 1), 0, q.history.length);
      const text = q.history[at] ?? '';
      return { state: { ...s, sql: { ...q, historyAt: at, edit: { text, cursor: text.length } } } };
    }
    default:
      return { state: { ...s, sql: { ...q, edit: action ? edit(q.edit, action) : edit(q.edit, 'insert', printable(input)) } } };
  }
}

/** One key, already resolved against the key table (`action` undefined: a character to insert). */
export function reduceKey(s: TuiState, action: Action | undefined, input: string, env: Env): Step {
  if (s.prompt) return promptKey(s, action, input, env);
  if (typing(s)) return sqlInputKey(s, action, input, env);
  if (action === undefined) return { state: s };
  const m = env.model;
  const f = focused(s, env);
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- a key a view has no use for falls to the default
  switch (action) {
    case 'quit':
      return { state: s, effect: { kind: 'quit' } };
    case 'help':
      return { state: { ...s, help: !s.help, helpTop: 0 } };
    case 'back':
      return { state: s.help ? { ...s, help: false } : { ...s, view: 'commands', status: undefined } };
    case 'view-commands':
      return { state: { ...s, view: 'commands', help: false, status: undefined } };
    case 'view-queue':
      return { state: enterQueue({ ...s, help: false, status: undefined }, env) };
    case 'view-policies':
      return { state: { ...s, view: 'policies', help: false, status: undefined } };
    case 'view-sql':
      return { state: { ...s, view: 'sql', help: false, status: undefined, sql: { ...s.sql, focus: 'input' } } };
    case 'focus':
      if (s.view === 'policies')
        return { state: { ...s, policies: { ...s.policies, focus: s.policies.focus === 'table' ? 'violations' : 'table' } } };
      if (s.view === 'sql') return { state: { ...s, sql: { ...s.sql, focus: s.sql.focus === 'input' ? 'rows' : 'input' } } };
      return { state: s };
    case 'down':
    case 'up':
    case 'page-down':
    case 'page-up':
    case 'first':
    case 'last': {
      if (!f) return { state: s };
      const page = Math.max(1, f.height - 1);
      const to = {
        down: f.cursor.index + 1,
        up: f.cursor.index - 1,
        'page-down': f.cursor.index + page,
        'page-up': f.cursor.index - page,
        first: 0,
        last: f.count - 1,
      }[action];
      return { state: f.set(moveCursor(f.cursor, to, f.count, f.height)) };
    }
    case 'left':
    case 'right':
      return { state: scrollColumns(s, action === 'right' ? 1 : -1, env) };
    case 'search':
      return { state: { ...s, prompt: { kind: 'search', text: s.search.text, cursor: s.search.text.length } } };
    case 'filter':
      return { state: { ...s, prompt: { kind: 'filter', text: s.filter.text, cursor: s.filter.text.length } } };
    case 'goto':
      return { state: { ...s, prompt: { kind: 'goto', text: '', cursor: 0 } } };
    case 'search-next':
    case 'search-prev':
      return { state: stepMatch(s, action === 'search-next' ? 1 : -1, env) };
    case 'filter-op':
    case 'filter-sid':
    case 'filter-domain':
    case 'filter-violations':
      return { state: quickFilter(s, action, env) };
    case 'filter-clear':
      return { state: applyFilter(s, '', env) };
    case 'doorbell-prev':
    case 'doorbell-next': {
      const dir = action === 'doorbell-next' ? 1 : -1;
      if (s.view === 'queue') {
        if (!m || m.doorbells.count === 0) return { state: s };
        return { state: setDoorbell(s, s.queue.doorbell + dir, env) };
      }
      return { state: stepDoorbell(s, dir, env) };
    }
    case 'zoom':
      return { state: { ...s, zoom: !s.zoom, detailTop: 0 } };
    case 'detail-down':
    case 'detail-up':
      return { state: { ...s, detailTop: Math.max(0, s.detailTop + (action === 'detail-down' ? 1 : -1)) } };
    case 'open':
      return { state: openSelected(s, env) };
    case 'sql-edit':
      return { state: { ...s, sql: { ...s.sql, focus: 'input' } } };
    case 'sql-cancel':
      if (env.sqlRunning) return { state: s, effect: { kind: 'sql-cancel' } };
      return reduceKey(s, 'back', input, env);
    default:
      return { state: s };
  }
}

/** Enter on a queue slot or a violation: its command in the list. */
function openSelected(s: TuiState, env: Env): TuiState {
  const m = env.model;
  if (s.view === 'policies') {
    const r = env.results;
    if (!r) return s;
    if (s.policies.focus === 'table') return { ...s, policies: { ...s.policies, focus: 'violations', violations: CURSOR0 } };
    const list = violationsOf(r, s.policies.table.index);
    const v = list[s.policies.violations.index];
    if (v === undefined) return { ...s, status: { text: 'no violation selected' } };
    return jumpToRow(s, r.violations.seq[v]!, env, `${r.violations.kind[v]} under ${r.output.policies[r.violations.policy[v]!]!.policy}`);
  }
  if (s.view === 'queue' && m) {
    const row = queueSlotRow(m, s.queue.doorbell, s.queue.slots.index);
    if (row < 0) return { ...s, status: { text: 'no command was written at this slot before the doorbell' } };
    return jumpToRow(s, row, env, 'slot command');
  }
  return s;
}

/** The trace row written at line `line` of the queue view of doorbell `d` (-1 when none). */
export function queueSlotRow(m: TraceModel, d: number, line: number): number {
  return queueSlotRows(m, d, line, 1)[0] ?? -1;
}

/** Ring positions of `count` consecutive lines of the queue view of doorbell `d`, from `line`. */
export function queueLinePositions(m: TraceModel, d: number, line: number, count: number): number[] {
  const span = queueSlotSpan(m, d);
  const period = ringPeriod(m);
  const out: number[] = [];
  for (let i = line; i < Math.min(span.count, line + count); i++) out.push(step(span.first, i, period));
  return out;
}

/** The trace rows written at `count` consecutive lines of the queue view, from `line` (-1: none). */
export function queueSlotRows(m: TraceModel, d: number, line: number, count: number): Int32Array {
  return slotRows(
    m,
    m.doorbells.row[d]!,
    queueLinePositions(m, d, line, count).map((p) => slotOf(m, p)),
  );
}
