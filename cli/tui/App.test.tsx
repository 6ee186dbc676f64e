// The TUI driven by keystrokes on real captures (samples/captures), frames read as text: cursor,
// search, filter, doorbells, the queue view, the policies view and the jump from a violation to its
// command, SQL (duckdb-wasm in its worker), the help overlay, quitting; the background replay runs
// in its worker thread. Expected values come from the Arrow rows and the replay's own tables.

import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openArrow } from '../../analyzers/arrow-files.js';
import { tempDir } from '../../test/helpers.js';
import { App, type AppProps } from './App.js';
import { keysByScope } from './keys.js';
import { layoutFor } from './layout.js';
import { loadResults, type PolicyResults } from './model/results.js';
import { loadTraceModel, type TraceModel } from './model/trace-model.js';
import { captureTrace, splitDomainReplay, traceRows } from './test-utils/fixtures.js';
import { KEY, renderTui, SIZE } from './test-utils/render.js';

const dir = tempDir();
let vtd: { path: string; model: TraceModel; rows: Record<string, unknown>[] };
let replayDir: string;
let topology: string;
let results: PolicyResults;

beforeAll(async () => {
  const path = await captureTrace(dir, 'vtd-legacy-strict');
  vtd = { path, model: await loadTraceModel(path), rows: await traceRows(path) };
  ({ dir: replayDir, topology } = await splitDomainReplay(dir, path));
  results = await loadResults(replayDir, 'folder');
});

const L = layoutFor(SIZE.columns, SIZE.rows);
const app = (extra: Partial<AppProps> = {}) => <App model={vtd.model} sqlInputs={[vtd.path]} size={SIZE} onQuit={() => {}} {...extra} />;
/** The seq the detail pane shows (the selected row). */
const selectedSeq = (frame: string) => Number(/── seq (\d+)/.exec(frame)?.[1]);
const rowsWhere = (f: (r: Record<string, unknown>) => boolean) => vtd.rows.flatMap((r, i) => (f(r) ? [i] : []));
const fmt = (n: number) => n.toLocaleString('en-US');

describe('frame', () => {
  it.each(['1', '2', '3', '4', '?'])('view %s fills the 80x24 terminal but its last line, none wider', async (key) => {
    const r = await renderTui(app({ results }));
    await r.press(key);
    const lines = r.lines();
    expect(lines).toHaveLength(SIZE.rows - 1);
    expect(lines.every((l) => l.length <= SIZE.columns)).toBe(true);
    expect(lines[0]).toMatch(/^ 1 commands {2}2 queue {2}3 policies {2}4 sql {2}\? {2}vtd-legacy-strict.arrow vtd/);
    await r.unmount();
  });
});

describe('commands: cursor', () => {
  it.each<[string, string[], () => number]>([
    ['j j j', ['j', 'j', 'j'], () => 3],
    ['down x5, up', [KEY.down, KEY.down, KEY.down, KEY.down, KEY.down, KEY.up], () => 4],
    ['page down', [KEY.pageDown], () => L.listRows - 1],
    ['page down twice, page up', [KEY.pageDown, KEY.pageDown, KEY.pageUp], () => L.listRows - 1],
    ['G (last)', ['G'], () => vtd.model.rows - 1],
    ['G then g', ['G', 'g'], () => 0],
    [': 1234 Enter', [':', '1', '2', '3', '4', KEY.enter], () => 1234],
  ])('%s', async (_name, keys, seq) => {
    const r = await renderTui(app());
    await r.press(...keys);
    const f = r.frame();
    expect(selectedSeq(f)).toBe(seq());
    const row = vtd.rows[seq()]!;
    // The selected row is on screen, with its slot and op.
    expect(f).toMatch(
      new RegExp(`^..\\s*${seq()}\\s+${row.slot ?? ''}\\s+${row.wrap ?? ''}\\s+${row.kind === 'cmd' ? row.op : row.kind}`, 'm'),
    );
    await r.unmount();
  });

  it('the detail pane shows the raw words, every field with its bit range, and the scope', async () => {
    const seq = rowsWhere((r) => r.op === 'iotlb_inv' && r.range_bytes !== null)[0]!;
    const row = vtd.rows[seq]!;
    const r = await renderTui(app());
    await r.press(':', ...String(seq), KEY.enter, KEY.enter); // go to, then zoom the detail
    const f = r.frame();
    expect(f).toContain(`seq ${seq}  iotlb_inv (0x2)  slot ${row.slot}`);
    expect(f).toContain(
      `qw0 0x${(row.w0 as bigint).toString(16).padStart(16, '0')}  qw1 0x${(row.w1 as bigint).toString(16).padStart(16, '0')}`,
    );
    expect(f).toMatch(/DID\s+qw0\[31:16\]\s+0x6/);
    expect(f).toMatch(/AM\s+qw1\[5:0\]/);
    expect(f).toMatch(new RegExp(`role: invalidate; scope: iotlb did=${row.did} 0x${(row.range_base as bigint).toString(16)}\\+`));
    await r.unmount();
  });
});

describe('commands: search, filter, doorbells', () => {
  it('/ finds an op; n and N step through the matches', async () => {
    const hits = rowsWhere((r) => r.op === 'dev_tlb_inv');
    const r = await renderTui(app());
    await r.press('/');
    await r.type('dev_tlb_inv');
    expect(r.lines().at(-1)).toMatch(/^\/dev_tlb_inv/); // the prompt as typed
    await r.press(KEY.enter);
    expect(r.frame()).toContain(`search dev_tlb_inv: match 1 of ${fmt(hits.length)} (seq ${hits[0]})`);
    expect(selectedSeq(r.frame())).toBe(hits[0]);
    await r.press('n', 'n');
    expect(selectedSeq(r.frame())).toBe(hits[2]);
    await r.press('N');
    expect(selectedSeq(r.frame())).toBe(hits[1]);
    await r.unmount();
  });

  it('f filters rows (sid=0x100), c clears the filter and keeps the row', async () => {
    const hits = rowsWhere((r) => r.sid === 0x100);
    const r = await renderTui(app());
    await r.press('f');
    await r.type('sid=0x100');
    await r.press(KEY.enter);
    const f = r.frame();
    expect(f).toContain(`filter sid=0x100: ${fmt(hits.length)} of ${fmt(vtd.rows.length)} rows`);
    const listed = r.lines().slice(2, 2 + L.listRows);
    expect(listed.every((l) => / 0x100 /.test(l))).toBe(true);
    expect(listed.map((l) => Number(/^..\s*(\d+)/.exec(l)![1]))).toEqual(hits.slice(0, L.listRows));
    await r.press('j', 'j');
    expect(selectedSeq(r.frame())).toBe(hits[2]);
    await r.press('c');
    expect(r.frame()).toContain(`filter cleared: ${fmt(vtd.rows.length)} rows`);
    expect(selectedSeq(r.frame())).toBe(hits[2]);
    await r.unmount();
  });

  it("o filters on the selected row's op, d adds its domain", async () => {
    const first = rowsWhere((r) => r.op === 'iotlb_inv')[0]!;
    const did = vtd.rows[first]!.did as number;
    const r = await renderTui(app());
    await r.press(':', ...String(first), KEY.enter, 'o');
    expect(r.frame()).toContain(`filter op=iotlb_inv: ${fmt(rowsWhere((x) => x.op === 'iotlb_inv').length)} of`);
    await r.press('d');
    expect(r.frame()).toContain(
      `filter op=iotlb_inv domain=0x${did.toString(16)}: ${fmt(rowsWhere((x) => x.op === 'iotlb_inv' && x.did === did).length)} of`,
    );
    await r.unmount();
  });

  it('a bad filter says why and keeps the list', async () => {
    const r = await renderTui(app());
    await r.press('f');
    await r.type('asid=1');
    await r.press(KEY.enter);
    expect(r.lines().at(-1)).toContain('filter: asid: vtd commands have no asid field');
    expect(selectedSeq(r.frame())).toBe(0);
    await r.unmount();
  });

  it('] and [ step through the doorbells', async () => {
    const doorbells = rowsWhere((r) => r.kind === 'doorbell');
    const r = await renderTui(app());
    await r.press(']', ']', ']');
    expect(selectedSeq(r.frame())).toBe(doorbells[doorbells[0] === 0 ? 3 : 2]);
    await r.press('[');
    expect(selectedSeq(r.frame())).toBe(doorbells[doorbells[0] === 0 ? 2 : 1]);
    await r.unmount();
  });
});

describe('queue view', () => {
  it('shows the ring at the selected doorbell: PROD, CONS and the commands it published', async () => {
    // A doorbell that publishes at least two commands (Linux 6.1 submits a descriptor and its wait).
    const doorbells = rowsWhere((r) => r.kind === 'doorbell');
    const k = doorbells.findIndex((d, i) => i > 0 && vtd.rows.slice(doorbells[i - 1], d).filter((x) => x.kind === 'cmd').length >= 2);
    const [prev, db] = [doorbells[k - 1]!, doorbells[k]!];
    const cmds = rowsWhere((x) => x.kind === 'cmd').filter((i) => i > prev && i < db);
    const hex = (n: unknown) => `0x${(n as number).toString(16)}`;
    const r = await renderTui(app());
    await r.press(':', ...String(cmds[0]), KEY.enter, '2'); // a command: the queue at the doorbell that publishes it
    const f = r.frame();
    const p = vtd.rows[prev]!,
      d = vtd.rows[db]!;
    expect(f).toContain(
      `doorbell ${fmt(k + 1)} of ${fmt(doorbells.length)} at seq ${db}: PROD ${hex(p.slot)} w${p.wrap} → ${hex(d.slot)} w${d.wrap}, ${cmds.length} published`,
    );
    expect(f).toContain(`CONS ${hex(p.slot)} w${p.wrap} when written (${cmds.length} outstanding) → ${hex(d.slot)} w${d.wrap} after`);
    expect(f).toMatch(/\[[·░█CPX]+\]/);
    for (const [i, c] of cmds.entries()) {
      expect(f).toMatch(new RegExp(`^ ${i === 0 ? 'CONS' : '    '} ..\\s*${c}\\s+${vtd.rows[c]!.slot}\\s+\\d\\s+${vtd.rows[c]!.op}`, 'm'));
    }
    expect(f).toMatch(new RegExp(`^ PROD `, 'm'));
    // ] moves to the next doorbell; Enter on a slot opens its command in the list.
    await r.press(']');
    expect(r.frame()).toContain(`doorbell ${fmt(k + 2)} of`);
    await r.press('[', KEY.enter); // the cursor starts on the last entry published
    expect(r.frame()).toContain(`slot command: seq ${cmds.at(-1)}`);
    expect(selectedSeq(r.frame())).toBe(cmds.at(-1));
    expect(r.frame()).toMatch(/^ 1 commands/);
    await r.unmount();
  });
});

async function firstViolation(policy: string): Promise<{ seq: number; explanation: string }> {
  const src = await openArrow(join(replayDir, 'violations.arrow'));
  for await (const b of src.batches()) {
    for (let i = 0; i < b.numRows; i++) {
      if (b.getChild('policy')!.get(i) === policy)
        return { seq: Number(b.getChild('seq')!.get(i)), explanation: String(b.getChild('explanation')!.get(i)) };
    }
  }
  throw new Error(`no violation of ${policy}`);
}

describe('policies view', () => {
  it('compares the policies of a replay folder and jumps from a violation to its command', async () => {
    const summary = results.output.policies;
    const idx = summary.findIndex((p) => p.policy === 'devtlb-nop');
    const bad = summary[idx]!;
    expect(bad.correct).toBe(false);
    const first = await firstViolation('devtlb-nop');
    const r = await renderTui(app({ results }));
    await r.press('3');
    let f = r.frame();
    expect(f).toMatch(/policy\s+verdict\s+traps\s+ioctls/);
    for (const p of summary)
      expect(f).toMatch(
        new RegExp(`^ ${p.policy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+${p.correct ? 'correct' : `${p.violations} violations?`}`, 'm'),
      );
    await r.press(...Array.from({ length: idx }, () => 'j'));
    f = r.frame();
    expect(f).toContain(`violations of devtlb-nop: ${bad.violations}`);
    expect(f).toContain(`seq ${String(first.seq).padStart(7)}  stale-translation`);
    await r.press(KEY.tab, KEY.enter);
    f = r.frame();
    expect(f).toMatch(/^ 1 commands/);
    expect(selectedSeq(f)).toBe(first.seq);
    expect(f).toContain(`stale-translation under devtlb-nop: seq ${first.seq}`);
    await r.press(KEY.enter); // zoom: the violation is in the detail
    expect(r.frame()).toContain(`devtlb-nop: stale-translation: ${first.explanation}`.slice(0, SIZE.columns - 2));
    await r.unmount();
  });

  it('v keeps the rows with a violation; h/l scroll the comparison columns', async () => {
    const r = await renderTui(app({ results }));
    await r.press('v');
    expect(r.frame()).toContain(`filter verdict=violation: ${fmt(new Set(results.violations.seq).size)} of`);
    await r.press('3', 'l', 'l');
    expect(r.frame()).not.toMatch(/policy\s+verdict\s+traps/);
    expect(r.frame()).toMatch(/policy\s+ioctls/);
    await r.press('h', 'h');
    expect(r.frame()).toMatch(/policy\s+verdict\s+traps/);
    await r.unmount();
  });

  it('replays in the background with progress, then shows the comparison', async () => {
    const r = await renderTui(
      app({
        replay: {
          trace: vtd.path,
          policies: ['per-command', 'devtlb-nop'],
          events: vtd.model.rows,
          topologyFile: topology,
          outDir: join(dir, 'bg'),
        },
      }),
    );
    await r.press('3');
    expect(r.frame()).toMatch(/replaying under 2 policies in the background: [\d,]+ of 44,215 events|per-command/);
    const f = await r.waitFor((x) => x.includes('background replay'), 'the comparison');
    const expected = results.output.policies.filter((p) => p.policy === 'per-command' || p.policy === 'devtlb-nop');
    for (const p of expected)
      expect(f).toMatch(
        new RegExp(`^ ${p.policy}\\s+${p.correct ? 'correct' : `${p.violations} violations?`}\\s+${p.traps}\\s+${p.ioctls}`, 'm'),
      );
    await r.unmount();
  });
});

describe('SQL view', () => {
  it('runs a query in DuckDB without blocking the keys, and scrolls the result', async () => {
    const r = await renderTui(app());
    await r.press('4');
    await r.press('\x15'); // Ctrl-U clears the query line
    await r.type("SELECT op, count(*) AS n FROM trace WHERE kind = 'cmd' GROUP BY op ORDER BY n DESC");
    await r.press(KEY.enter);
    const f = await r.waitFor((x) => /\d+ rows? in \d+ ms/.test(x), 'the result');
    const byOp = new Map<string, number>();
    for (const row of vtd.rows) if (row.kind === 'cmd') byOp.set(String(row.op), (byOp.get(String(row.op)) ?? 0) + 1);
    const sorted = [...byOp].sort((a, b) => b[1] - a[1]);
    expect(f).toContain(`${sorted.length} rows in`);
    expect(f).toMatch(new RegExp(`^ ${sorted[0]![0]}\\s+${sorted[0]![1]}`, 'm'));
    await r.press('j', 'j');
    expect(r.frame()).toContain('row 3');
    // Bad SQL: one line, the pane stays.
    await r.press(KEY.enter, '\x15');
    await r.type('SELEC nope');
    await r.press(KEY.enter);
    expect(await r.waitFor((x) => /Parser Error/.test(x), 'the error')).toMatch(/syntax error at or near "SELEC"/);
    await r.unmount();
  });

  it('keeps answering keys while a long query runs, and Esc stops it', async () => {
    const r = await renderTui(app());
    await r.press('4', '\x15');
    await r.waitFor((x) => /tables: /.test(x), 'the session', 60_000);
    await r.type('SELECT count(*) FROM range(20000000000) a');
    await r.press(KEY.enter);
    await r.waitFor((x) => x.includes('running… (Esc stops it)'), 'the query to start');
    await r.press('1', 'j', 'j'); // the commands view moves while DuckDB works in its thread
    expect(selectedSeq(r.frame())).toBe(2);
    await r.press('4');
    expect(r.frame()).toContain('running… (Esc stops it)');
    await r.press(KEY.escape);
    const f = await r.waitFor((x) => !x.includes('running…'), 'the query to stop');
    expect(f).toContain('query was canceled');
    expect(f).toMatch(/^ 1 commands {2}2 queue {2}3 policies {2}4 sql/); // still in the SQL view
    expect(f).toContain('sql> ');
    await r.unmount();
  });
});

describe('help and quitting', () => {
  it('? lists every key of the table; j scrolls it; ? closes it', async () => {
    const r = await renderTui(app());
    await r.press('?');
    const seen = new Set<string>();
    for (let i = 0; i < 80; i++) {
      for (const l of r.lines()) seen.add(l.trim());
      await r.press('j');
    }
    for (const g of keysByScope()) {
      expect([...seen]).toContain(g.title);
      for (const b of g.bindings)
        expect([...seen].some((l) => l.startsWith(b.keys.join(' ')) && l.includes(b.help.slice(0, 40)))).toBe(true);
    }
    await r.press('?');
    expect(r.frame()).toMatch(/seq\s+slot w op/);
    await r.unmount();
  });

  it('q quits, but types a q into a prompt', async () => {
    const onQuit = vi.fn();
    const r = await renderTui(app({ onQuit }));
    await r.press('/', 'q');
    expect(onQuit).not.toHaveBeenCalled();
    expect(r.lines().at(-1)).toMatch(/^\/q/);
    await r.press(KEY.escape, 'q');
    expect(onQuit).toHaveBeenCalledOnce();
    await r.unmount();
  });
});
