// A checker for the Trace Event Format (Google's "Trace Event Format" document, the JSON that
// chrome://tracing, ui.perfetto.dev and Perfetto's trace processor import), written from the
// document, not from invtrace's output. It returns every problem found, one line each:
//   - JSON Object Format: an object with a `traceEvents` array; `displayTimeUnit` "ms" or "ns";
//     `otherData` an object;
//   - every event: `name` (string), `ph` (a phase the document defines), `pid` and `tid`
//     (integers), `ts` (microseconds, a finite number >= 0), `cat` a string and `args` an object
//     when present;
//   - complete events (X): `dur` >= 0; instant events (i, I): scope `s` one of g, p, t;
//   - flow events (s, t, f): an `id`, `cat` and `name`; a flow (the same cat, name and id) has
//     exactly one start (s) and one end (f), the end no earlier than the start; `bp` only "e"; each
//     binds to a slice: its timestamp lies inside a complete event of its thread;
//   - metadata events (M): process_name, process_labels, process_sort_index, thread_name or
//     thread_sort_index, with `args.name` a string or `args.sort_index` an integer; every thread
//     that has events has a thread_name and its process a process_name, given before its events;
//   - per thread, events in timestamp order, and complete events properly nested (one inside the
//     other or apart, never partly overlapping: "complete events ... must be properly nested").
// Times are compared in whole nanoseconds, as importers read them (Perfetto turns the µs of `ts`
// and `dur` into integer ns), so 6.461 + 3.229 ends where 9.69 starts.

export interface TraceEventJson {
  readonly name?: unknown;
  readonly ph?: unknown;
  readonly pid?: unknown;
  readonly tid?: unknown;
  readonly ts?: unknown;
  readonly dur?: unknown;
  readonly cat?: unknown;
  readonly args?: unknown;
  readonly s?: unknown;
  readonly id?: unknown;
  readonly bp?: unknown;
}

const PHASES = new Set(['B', 'E', 'X', 'i', 'I', 'C', 'b', 'n', 'e', 's', 't', 'f', 'P', 'N', 'O', 'D', 'M', 'V', 'v', 'R', 'c', '(', ')']);
const METADATA = new Set(['process_name', 'process_labels', 'process_sort_index', 'thread_name', 'thread_sort_index']);

const ns = (us: number) => Math.round(us * 1000);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every problem of a parsed Trace Event Format file; empty when it is valid. */
export function traceEventProblems(file: unknown, max = 20): string[] {
  const problems: string[] = [];
  const bad = (m: string) => {
    if (problems.length < max) problems.push(m);
  };
  if (!isObj(file)) return ['not a JSON object (JSON Object Format)'];
  if (!Array.isArray(file.traceEvents)) return ['traceEvents: not an array'];
  if (file.displayTimeUnit !== undefined && file.displayTimeUnit !== 'ms' && file.displayTimeUnit !== 'ns')
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the file's own value, shown as it is
    bad(`displayTimeUnit: "${String(file.displayTimeUnit)}" (ms or ns)`);
  if (file.otherData !== undefined && !isObj(file.otherData)) bad('otherData: not an object');

  const processNamed = new Set<number>();
  const threadNamed = new Set<string>();
  const lastTs = new Map<string, number>();
  const slices = new Map<string, { ts: number; end: number; i: number }[]>();
  const flows = new Map<string, { s: number; f: number; sTs: number; fTs: number }>();
  const flowPoints: { key: string; ts: number; i: number }[] = [];
  for (const [i, e] of (file.traceEvents as TraceEventJson[]).entries()) {
    const at = `traceEvents[${i}]`;
    if (!isObj(e)) {
      bad(`${at}: not an object`);
      continue;
    }
    if (typeof e.ph !== 'string' || !PHASES.has(e.ph)) {
      bad(`${at}: ph ${JSON.stringify(e.ph)} is not a phase of the format`);
      continue;
    }
    if (typeof e.name !== 'string') bad(`${at}: name missing`);
    if (!isInt(e.pid)) bad(`${at}: pid not an integer`);
    if (!isInt(e.tid)) bad(`${at}: tid not an integer`);
    if (e.cat !== undefined && typeof e.cat !== 'string') bad(`${at}: cat not a string`);
    if (e.args !== undefined && !isObj(e.args)) bad(`${at}: args not an object`);
    const thread = `${String(e.pid)}:${String(e.tid)}`;
    if (e.ph === 'M') {
      if (!METADATA.has(String(e.name))) bad(`${at}: unknown metadata event ${String(e.name)}`);
      const args = isObj(e.args) ? e.args : {};
      if (String(e.name).endsWith('_name') && typeof args.name !== 'string') bad(`${at}: ${String(e.name)} without args.name`);
      if (String(e.name).endsWith('_sort_index') && !isInt(args.sort_index))
        bad(`${at}: ${String(e.name)} without an integer args.sort_index`);
      if (e.name === 'process_name') processNamed.add(e.pid as number);
      if (e.name === 'thread_name') threadNamed.add(thread);
      continue;
    }
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0) {
      bad(`${at}: ts not a number >= 0`);
      continue;
    }
    if (!processNamed.has(e.pid as number)) bad(`${at}: pid ${String(e.pid)} has no process_name before its first event`);
    if (!threadNamed.has(thread)) bad(`${at}: thread ${thread} has no thread_name before its first event`);
    const prev = lastTs.get(thread);
    if (prev !== undefined && e.ts < prev) bad(`${at}: ts ${e.ts} before the previous event of thread ${thread} (${prev})`);
    lastTs.set(thread, e.ts);
    switch (e.ph) {
      case 'X':
        if (typeof e.dur !== 'number' || !(e.dur >= 0)) bad(`${at}: complete event without dur >= 0`);
        else {
          const list = slices.get(thread) ?? [];
          list.push({ ts: ns(e.ts), end: ns(e.ts) + ns(e.dur), i });
          slices.set(thread, list);
        }
        break;
      case 'i':
      case 'I':
        if (e.s !== undefined && e.s !== 'g' && e.s !== 'p' && e.s !== 't') bad(`${at}: instant scope ${JSON.stringify(e.s)} (g, p or t)`);
        break;
      case 's':
      case 't':
      case 'f': {
        if (e.id === undefined || typeof e.cat !== 'string' || typeof e.name !== 'string') {
          bad(`${at}: flow event without id, cat and name`);
          break;
        }
        if (e.bp !== undefined && e.bp !== 'e') bad(`${at}: bp ${JSON.stringify(e.bp)} (only "e")`);
        // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an id as the file wrote it: only equality matters
        const key = `${e.cat}\u0000${e.name}\u0000${String(e.id)}`;
        const fl = flows.get(key) ?? { s: 0, f: 0, sTs: NaN, fTs: NaN };
        if (e.ph === 's') Object.assign(fl, { s: fl.s + 1, sTs: ns(e.ts) });
        if (e.ph === 'f') Object.assign(fl, { f: fl.f + 1, fTs: ns(e.ts) });
        flows.set(key, fl);
        flowPoints.push({ key: thread, ts: ns(e.ts), i });
        break;
      }
    }
  }
  for (const [key, fl] of flows) {
    const id = key.split('\u0000')[2];
    if (fl.s !== 1 || fl.f !== 1) bad(`flow id ${id}: ${fl.s} start and ${fl.f} end events (one of each)`);
    else if (fl.fTs < fl.sTs) bad(`flow id ${id}: ends (${fl.fTs / 1000}) before it starts (${fl.sTs / 1000})`);
  }
  // Proper nesting per thread: sorted by start, then longest first, a stack of open slices.
  const sortedByThread = new Map<string, { ts: number; end: number; i: number }[]>();
  for (const [thread, list] of slices) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts || b.end - b.ts - (a.end - a.ts));
    sortedByThread.set(thread, sorted);
    const open: { end: number; i: number }[] = [];
    for (const sl of sorted) {
      while (open.length && open[open.length - 1]!.end <= sl.ts) open.pop();
      const top = open[open.length - 1];
      if (top && sl.end > top.end) bad(`thread ${thread}: traceEvents[${sl.i}] overlaps traceEvents[${top.i}] without nesting inside it`);
      open.push(sl);
    }
  }
  // Each flow event inside a slice of its thread: the last slice starting at or before it, or one enclosing that.
  for (const p of flowPoints) {
    const sorted = sortedByThread.get(p.key) ?? [];
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.ts <= p.ts) lo = mid + 1;
      else hi = mid;
    }
    let inside = false;
    for (let k = lo - 1; k >= 0 && !inside; k--) inside = sorted[k]!.end >= p.ts;
    if (!inside) bad(`traceEvents[${p.i}]: flow event at ${p.ts / 1000} binds to no slice of thread ${p.key}`);
  }
  return problems;
}
