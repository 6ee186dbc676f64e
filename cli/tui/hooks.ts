// The TUI's hooks: terminal size, the background policy replay, the SQL session, and useTui, which
// feeds keys through the key table and the reducer (state.ts). Views get their output as props.

import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Table, type RecordBatch } from 'apache-arrow';
import { useInput, useStdout } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { EngineKind, SqlEngine } from '../../analyzers/sql-engine/engine.js';
import type { Session } from '../../analyzers/session.js';
import { NO_KEY, resolveKey, type KeyState } from './keys.js';
import { loadResults, type PolicyResults } from './model/results.js';
import type { ReplayProgress } from './PolicyPane.js';
import type { SqlResult, SqlView } from './SqlPane.js';
import { activeScopes, initialState, reduceKey, typing, type Effect, type Env, type TuiState, type View } from './state.js';

/** The terminal's size, updated on resize. */
export function useTerminalSize(fixed?: { columns: number; rows: number }): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => fixed ?? { columns: stdout.columns || 80, rows: stdout.rows || 24 };
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return;
    const on = () => setSize(read());
    stdout.on('resize', on);
    return () => {
      stdout.off('resize', on);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stdout, fixed]);
  return fixed ?? size;
}

/** A background replay: the trace, the policies and the folder the result tables go to. */
export interface ReplaySpec {
  readonly trace: string;
  readonly policies: readonly string[];
  readonly topologyFile?: string;
  readonly costsFile?: string;
  /** Trace events, for the progress fraction. */
  readonly events: number;
  /** Where to write; default a new temporary folder. */
  readonly outDir?: string;
}

export interface ResultsView {
  readonly results?: PolicyResults;
  readonly progress?: ReplayProgress;
  readonly error?: string;
}

/** Policy results: given (a replay folder), or computed by a background replay in a worker thread. */
export function usePolicyResults(initial: PolicyResults | undefined, replay: ReplaySpec | undefined): ResultsView {
  const [view, setView] = useState<ResultsView>(initial ? { results: initial } : {});
  useEffect(() => {
    if (initial || !replay) return;
    let live = true; // cleared by the cleanup below, maybe while the work below awaits
    const alive = () => live; // read through a call: TS keeps a narrowing of `live` across an await
    const outDir = replay.outDir ?? join(mkdtempSync(join(tmpdir(), 'invtrace-tui-')), 'replay');
    const names = replay.policies.join(',');
    const policies = names === 'all' ? 9 : replay.policies.length;
    setView({ progress: { done: 0, total: replay.events, policies } });
    let job: { cancel(): Promise<void> } | undefined;
    void (async () => {
      const { startJob } = await import('./jobs/jobs.js');
      if (!alive()) return;
      const j = startJob(
        {
          kind: 'replay',
          trace: replay.trace,
          policies: replay.policies,
          outDir,
          ...(replay.topologyFile ? { topologyFile: replay.topologyFile } : {}),
          ...(replay.costsFile ? { costsFile: replay.costsFile } : {}),
        },
        (done) => alive() && setView({ progress: { done, total: replay.events, policies } }),
      );
      job = j;
      try {
        await j.done;
        const results = await loadResults(outDir, 'replay');
        if (alive()) setView({ results });
      } catch (e) {
        if (alive()) setView({ error: (e as Error).message });
      }
    })();
    return () => {
      live = false;
      void job?.cancel();
    };
  }, [initial, replay]);
  return view;
}

/** Rows of a result the pane keeps; a larger result is cut there (the query is stopped). */
export const MAX_SQL_ROWS = 100_000;

export interface SqlHandle extends SqlView {
  run(sql: string): void;
  cancel(): void;
}

/**
 * The SQL session (analyzers/session.ts: DuckDB in a worker thread), opened the first time the
 * pane is shown, over `inputs` (the trace, and result folders). Queries run one at a time; a query
 * typed while the session opens waits for it.
 */
export function useSql(inputs: readonly string[], active: boolean, engine?: SqlEngine | EngineKind): SqlHandle {
  const [view, setView] = useState<SqlView>({ phase: 'idle' });
  const session = useRef<Promise<Session> | undefined>(undefined);
  const live = useRef(true);
  const running = useRef(false);
  const update = (v: SqlView) => live.current && setView(v);
  const open = useCallback(() => {
    if (session.current) return session.current;
    update({ phase: 'starting', note: inputs.join(', ') });
    session.current = (async () => {
      const { openSession } = await import('../../analyzers/session.js');
      return openSession(inputs, engine ? { engine } : {});
    })();
    session.current.then(
      (s) => update({ phase: 'ready', note: `tables: ${s.files.map((f) => f.table).join(', ')}` }),
      (e: unknown) => update({ phase: 'idle', error: `SQL session: ${(e as Error).message}` }),
    );
    return session.current;
  }, [inputs, engine]);
  useEffect(() => {
    if (active) void open().catch(() => undefined);
  }, [active, open]);
  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
      void session.current?.then(
        (s) => s.close(),
        () => undefined,
      );
    };
  }, []);
  const run = useCallback(
    (sql: string) => {
      void (async () => {
        let s: Session;
        try {
          s = await open();
        } catch {
          return;
        }
        running.current = true;
        setView((v) => ({ ...v, phase: 'running', error: undefined }));
        const t0 = performance.now();
        try {
          const result = await runSql(s, sql);
          update({ phase: 'ready', result: { ...result, ms: performance.now() - t0 } });
        } catch (e) {
          update({ phase: 'ready', error: (e as Error).message });
        } finally {
          running.current = false;
        }
      })();
    },
    [open],
  );
  const cancel = useCallback(() => {
    void session.current?.then(
      (s) => s.engine.cancel(),
      () => undefined,
    );
  }, []);
  return { ...view, run, cancel };
}

async function runSql(s: Session, sql: string): Promise<Omit<SqlResult, 'ms'>> {
  const { parseCopy } = await import('../../analyzers/export.js');
  const body = sql.replace(/;\s*$/, '');
  if (parseCopy(body) !== undefined) {
    const { runStatement } = await import('../sql/statements.js');
    const r = await runStatement(s, body);
    return {
      sql,
      rows: r.kind === 'exported' ? r.rows : 0,
      truncated: false,
      message: r.kind === 'exported' ? `wrote ${r.rows} rows to ${r.path}` : 'done',
    };
  }
  const batches: RecordBatch[] = [];
  let rows = 0;
  let truncated = false;
  for await (const b of s.engine.queryBatches(body)) {
    batches.push(b);
    rows += b.numRows;
    if (rows >= MAX_SQL_ROWS) {
      truncated = true;
      break;
    }
  }
  if (truncated) await s.engine.cancel();
  if (batches.length === 0) return { sql, rows: 0, truncated: false, message: 'done: no rows' };
  const table = new Table(batches);
  const ddl = table.numRows === 0 && table.schema.fields.length === 1 && table.schema.fields[0]!.name === 'Count';
  if (ddl) return { sql, rows: 0, truncated: false, message: 'done' };
  return { sql, table, rows: Math.min(rows, MAX_SQL_ROWS), truncated };
}

export interface TuiControl {
  readonly state: TuiState;
}

/**
 * Keys → key table → reducer. The latest state lives in a ref as well, so keys arriving in one
 * burst (a paste, key repeat) each see the previous one's result.
 */
export function useTui(env: Env, effects: { quit(): void; sql: SqlHandle }, initialView?: View): TuiState {
  const [state, setState] = useState(() => initialState(initialView));
  const ref = useRef(state);
  const envRef = useRef(env);
  envRef.current = env;
  const fx = useRef(effects);
  fx.current = effects;
  const perform = (e: Effect) => {
    if (e.kind === 'quit') fx.current.quit();
    else if (e.kind === 'sql-run') fx.current.sql.run(e.sql);
    else fx.current.sql.cancel();
  };
  const one = (input: string, key: KeyState & { readonly meta: boolean }) => {
    const s = ref.current;
    if (key.ctrl && input === 'c') {
      perform({ kind: 'quit' });
      return;
    }
    const action = resolveKey(input, key, activeScopes(s));
    if (action === undefined && (!typing(s) || key.ctrl || key.meta)) return; // unbound, or a control key while typing
    const step = reduceKey(s, action, input, envRef.current);
    ref.current = step.state;
    if (step.state !== s) setState(step.state);
    if (step.effect) perform(step.effect);
  };
  useInput((input: string, key: KeyState & { readonly meta: boolean }) => {
    // Keys typed faster than they are read (key repeat, a script, a paste) arrive as one string: one at a time.
    if (input.length > 1 && !key.ctrl && !key.meta) for (const ch of input) one(...keyOfChar(ch));
    else one(input, key);
  });
  return state;
}

/** No key held, as Ink's Key has it (KeyState plus meta). */
const NO_INK_KEY = { ...NO_KEY, meta: false } as const;

/** One character of a burst as Ink would have reported it alone (Enter, Tab, Backspace, Esc, Ctrl+letter). */
export function keyOfChar(ch: string): [string, KeyState & { readonly meta: boolean }] {
  const c = ch.charCodeAt(0);
  if (ch === '\r' || ch === '\n') return ['', { ...NO_INK_KEY, return: true }];
  if (ch === '\t') return ['', { ...NO_INK_KEY, tab: true }];
  if (ch === '\x7f' || ch === '\b') return ['', { ...NO_INK_KEY, backspace: true }];
  if (ch === '\x1b') return ['', { ...NO_INK_KEY, escape: true, meta: true }];
  if (c >= 1 && c <= 26) return [String.fromCharCode(c + 96), { ...NO_INK_KEY, ctrl: true }];
  return [ch, NO_INK_KEY];
}
