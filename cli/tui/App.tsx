// The whole screen: tab bar, the current view (or the help overlay), status line. Props in, frame
// out: the trace model, the policy results source, the SQL inputs and the terminal size come from
// the caller (Root in main.tsx, or a test); keys and selection live in useTui.

import { basename } from 'node:path';
import { Box } from 'ink';
import { useEffect, useMemo, useState } from 'react';
import type { EngineKind, SqlEngine } from '../../analyzers/sql-engine/engine.js';
import { CommandList } from './CommandList.js';
import { DetailPane } from './DetailPane.js';
import { HelpOverlay, helpLines } from './HelpOverlay.js';
import { usePolicyResults, useSql, useTerminalSize, useTui, type ReplaySpec } from './hooks.js';
import { layoutFor } from './layout.js';
import { Blank, Line } from './Line.js';
import { detailLines } from './model/describe.js';
import { violationMarks, type PolicyResults } from './model/results.js';
import type { TraceModel } from './model/trace-model.js';
import { POLICY_SCROLL_COLUMNS, PolicyPane } from './PolicyPane.js';
import { QueueView } from './QueueView.js';
import { SqlPane } from './SqlPane.js';
import { moveCursor, selectedRow, visibleCount, type Env, type View } from './state.js';
import { StatusBar } from './StatusBar.js';
import { TabBar } from './TabBar.js';
import { theme } from './theme.js';

export interface AppProps {
  /** The trace; absent when a replay folder names none that exists. */
  readonly model?: TraceModel;
  /** Why there is no trace (shown in the commands and queue views). */
  readonly noTrace?: string;
  /** Results read from a replay folder. */
  readonly results?: PolicyResults;
  /** Or: replay in the background. */
  readonly replay?: ReplaySpec;
  /** Files and folders the SQL session loads. */
  readonly sqlInputs: readonly string[];
  readonly sqlEngine?: SqlEngine | EngineKind;
  /** Fixed size (tests); default: the terminal's, following resizes. */
  readonly size?: { columns: number; rows: number };
  readonly initialView?: View;
  readonly onQuit: () => void;
}

const HINT = '? help  q quit  1-4 views  j/k move  / search  f filter  [ ] doorbells';

export function App(props: AppProps) {
  const { model } = props;
  const size = useTerminalSize(props.size);
  const help = useMemo(helpLines, []);
  const res = usePolicyResults(props.results, props.replay);
  const marks = useMemo(() => (res.results && model ? violationMarks(res.results, model.rows) : undefined), [res.results, model]);
  const pending = res.progress ? `replaying: ${Math.floor((res.progress.done / Math.max(1, res.progress.total)) * 100)}%` : res.error;
  const base = layoutFor(size.columns, size.rows, { policies: res.results?.output.policies.length ?? 9 });
  // The SQL session opens when its view is first shown, and stays open.
  const [sqlActive, setSqlActive] = useState(props.initialView === 'sql');
  const sql = useSql(props.sqlInputs, sqlActive, props.sqlEngine);
  const sqlRows = sql.result?.table?.numRows ?? 0;
  const envBase: Env = {
    ...(model ? { model } : {}),
    ...(res.results ? { results: res.results } : {}),
    ...(pending ? { resultsPending: pending } : {}),
    layout: base,
    helpLines: help.length,
    sqlRows,
    sqlRunning: sql.phase === 'running',
    policyColumns: POLICY_SCROLL_COLUMNS,
    sqlColumns: sql.result?.table?.numCols ?? 0,
  };
  const state = useTui(envBase, { quit: props.onQuit, sql }, props.initialView);
  useEffect(() => {
    if (state.view === 'sql') setSqlActive(true);
  }, [state.view]);
  const L = layoutFor(size.columns, size.rows, { zoom: state.zoom, policies: res.results?.output.policies.length ?? 9 });
  const W = L.width;

  let body;
  if (state.help) body = <HelpOverlay lines={help} top={state.helpTop} height={L.body} width={W} />;
  else if ((state.view === 'commands' || state.view === 'queue') && !model) {
    body = (
      <Box flexDirection="column">
        <Line text={` no trace: ${props.noTrace ?? 'none given'}`} width={W} color={theme.error} />
        <Line text=" the policies (3) and SQL (4) views show the replay folder" width={W} color={theme.dim} />
        <Blank n={L.body - 2} width={W} />
      </Box>
    );
  } else if (state.view === 'commands' && model) {
    const count = visibleCount(state, model);
    const cursor = moveCursor(state.list, state.list.index, count, L.listRows);
    const row = selectedRow(state, model);
    const lines = row === undefined ? [] : detailLines(model, row, res.results);
    const title =
      row === undefined ? 'no row (the filter matches none; c clears it)' : `seq ${row}${state.zoom ? ' (Enter: back to the list)' : ''}`;
    body = (
      <Box flexDirection="column">
        <CommandList
          model={model}
          rows={state.filter.rows}
          cursor={cursor}
          height={L.listRows}
          width={W}
          matches={state.search.matches}
          violations={marks}
        />
        <DetailPane title={title} lines={lines} top={state.detailTop} height={L.detailRows} width={W} />
      </Box>
    );
  } else if (state.view === 'queue' && model) {
    body = <QueueView model={model} doorbell={state.queue.doorbell} slots={state.queue.slots} height={L.slotRows} width={W} />;
  } else if (state.view === 'policies') {
    body = (
      <PolicyPane
        results={res.results}
        progress={res.progress}
        error={res.error}
        focus={state.policies.focus}
        table={state.policies.table}
        violations={state.policies.violations}
        col={state.policies.col}
        tableRows={L.tableRows}
        violationRows={L.violationRows}
        width={W}
      />
    );
  } else {
    body = (
      <SqlPane
        edit={state.sql.edit}
        focus={state.sql.focus}
        sql={sql}
        cursor={moveCursor(state.sql.rows, state.sql.rows.index, sqlRows, L.sqlRows)}
        col={state.sql.col}
        height={L.sqlRows}
        width={W}
      />
    );
  }
  const filter = state.filter.rows ? `  filter ${state.filter.text}: ${state.filter.rows.length.toLocaleString('en-US')} rows` : '';
  // What changes first (replay progress, the filter), then what the trace is: the end is cut on a narrow terminal.
  const title = model
    ? `${pending ? `${pending} · ` : ''}${filter ? `${filter.trim()} · ` : ''}${basename(model.path)} ${model.arch} ${model.rows.toLocaleString('en-US')} rows`
    : (props.noTrace ?? '');
  return (
    <Box flexDirection="column" width={W} height={L.height}>
      <TabBar view={state.view} help={state.help} title={title} width={W} />
      {body}
      <StatusBar prompt={state.prompt} status={state.status} hint={HINT} width={W} />
    </Box>
  );
}
