// From the command line's inputs to the App: ingest captures (worker thread) and read the trace,
// showing progress, then the App with the replay folder's results or a background replay.

import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { useEffect, useMemo, useState } from 'react';
import type { EngineKind, SqlEngine } from '../../analyzers/sql-engine/engine.js';
import { App } from './App.js';
import { useTerminalSize, type ReplaySpec } from './hooks.js';
import { layoutFor } from './layout.js';
import { Loader, type LoadProgress } from './Loader.js';
import { loadResults, type PolicyResults } from './model/results.js';
import { loadTraceModel, type TraceModel } from './model/trace-model.js';
import type { TuiInput } from './source.js';

export interface TuiOptions {
  /** Policies of the background replay (as --policy takes them). */
  readonly policies: readonly string[];
  readonly topologyFile?: string;
  readonly costsFile?: string;
  /** false: no background replay. */
  readonly replay: boolean;
  readonly sqlEngine?: SqlEngine | EngineKind;
}

export interface RootProps {
  readonly input: TuiInput;
  readonly options: TuiOptions;
  /** A private folder for the ingested trace and the background replay's tables. */
  readonly workDir: string;
  readonly size?: { columns: number; rows: number };
  /** Called to leave: with the error that ended loading, if one did. */
  readonly onQuit: (error?: Error) => void;
}

interface Loaded {
  readonly model?: TraceModel;
  readonly results?: PolicyResults;
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

function bytesIn(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) {
    try {
      const st = statSync(join(dir, f));
      if (st.isFile()) n += st.size;
    } catch {
      // renamed or removed meanwhile
    }
  }
  return n;
}

function useLoad(
  input: TuiInput,
  workDir: string,
  onError: (e: Error) => void,
): { loaded?: Loaded; progress: LoadProgress; trace?: string } {
  const [progress, setProgress] = useState<LoadProgress>({
    phase: input.captures ? 'ingest' : 'load',
    what: (input.captures ?? [input.trace ?? '']).map((f) => basename(f)).join(' + '),
    detail: '',
  });
  const [loaded, setLoaded] = useState<Loaded>();
  const [trace, setTrace] = useState(input.trace);
  useEffect(() => {
    let live = true; // cleared by the cleanup below, maybe while the work below awaits
    const alive = () => live; // read through a call: TS keeps a narrowing of `live` across an await
    let cancel: (() => Promise<void>) | undefined;
    void (async () => {
      let path = input.trace;
      if (input.captures) {
        const { startJob } = await import('./jobs/jobs.js');
        const output = join(workDir, 'trace.arrow');
        const t0 = Date.now();
        const job = startJob({ kind: 'ingest', files: input.captures, output });
        cancel = () => job.cancel();
        const what = input.captures.map((c) => basename(c)).join(' + ');
        const timer = setInterval(() => {
          if (alive())
            setProgress({
              phase: 'ingest',
              what,
              detail: `${((Date.now() - t0) / 1000).toFixed(1)} s, ${mb(bytesIn(workDir))} of trace written`,
            });
        }, 150);
        try {
          await job.done;
        } finally {
          clearInterval(timer);
        }
        path = output;
        if (alive()) setTrace(output);
      }
      if (!alive()) return;
      let model: TraceModel | undefined;
      if (path !== undefined) {
        const p = path;
        model = await loadTraceModel(p, (rows, fraction) => {
          if (alive()) setProgress({ phase: 'load', what: basename(p), fraction, detail: `${rows.toLocaleString('en-US')} rows` });
        });
      }
      const results = input.replayDir ? await loadResults(input.replayDir, 'folder') : undefined;
      if (alive()) setLoaded({ ...(model ? { model } : {}), ...(results ? { results } : {}) });
    })().catch((e: unknown) => alive() && onError(e as Error));
    return () => {
      live = false;
      void cancel?.();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [input, workDir]);
  return { ...(loaded ? { loaded } : {}), progress, ...(trace ? { trace } : {}) };
}

export function Root({ input, options, workDir, size, onQuit }: RootProps) {
  const { loaded, progress, trace } = useLoad(input, workDir, onQuit);
  const term = useTerminalSize(size);
  const replay = useMemo<ReplaySpec | undefined>(() => {
    if (!loaded?.model || loaded.results || !options.replay || trace === undefined) return undefined;
    return {
      trace,
      policies: options.policies,
      events: loaded.model.rows,
      outDir: join(workDir, 'replay'),
      ...(options.topologyFile ? { topologyFile: options.topologyFile } : {}),
      ...(options.costsFile ? { costsFile: options.costsFile } : {}),
    };
  }, [loaded, options, trace, workDir]);
  const sqlInputs = useMemo(() => [...(trace ? [trace] : []), ...(input.replayDir ? [input.replayDir] : [])], [trace, input.replayDir]);
  if (!loaded) {
    const L = layoutFor(term.columns, term.rows);
    return <Loader progress={progress} width={L.width} height={L.height} />;
  }
  return (
    <App
      {...(loaded.model ? { model: loaded.model } : {})}
      {...(input.noTrace ? { noTrace: input.noTrace } : {})}
      {...(loaded.results ? { results: loaded.results } : {})}
      {...(replay ? { replay } : {})}
      sqlInputs={sqlInputs}
      {...(options.sqlEngine ? { sqlEngine: options.sqlEngine } : {})}
      {...(size ? { size } : {})}
      onQuit={() => onQuit()}
    />
  );
}
