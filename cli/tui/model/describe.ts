// Text for one trace row, made only for rows on screen: the command list's columns (one table),
// and the detail pane's lines (raw words, every field with its bit range from the codec table,
// derived values, scope, the queue at its doorbell, the violations found at it).

import { hex, rangeLabel } from '../../../formats/bits.js';
import { classify, derive } from '../../../formats/classify.js';
import type { Decoded } from '../../../formats/codec/codec.js';
import { step } from '../../../formats/ring.js';
import { describeScope } from '../../../formats/scope.js';
import { queueAt, doorbellOfRow } from './queue.js';
import type { PolicyResults } from './results.js';
import {
  errorName,
  FLAG_DOORBELL_WRAPS,
  FLAG_ERROR_STOP,
  FLAG_INFERRED,
  FLAG_WRAPPED,
  kindName,
  KEY_FIELDS,
  NONE,
  NO_CODE,
  opName,
  originName,
  ringPeriod,
  slotOf,
  wordsOf,
  wrapOf,
  type TraceModel,
} from './trace-model.js';

/** Decodes a command row from its words (the codec table, as `invtrace decode` does). */
export function decodeRow(m: TraceModel, row: number): Decoded {
  return m.codec.decode(wordsOf(m, row), { descBytes: m.header.desc_bytes });
}

const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));
const padL = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** `0x12 w1`: a ring position as the specs write PROD/CONS (index and wrap bit). */
export const posLabel = (m: TraceModel, pos: number): string => `${hex(slotOf(m, pos))} w${wrapOf(m, pos)}`;

export interface ListColumn {
  readonly header: string;
  readonly width: (m: TraceModel) => number;
  readonly right?: boolean;
  readonly value: (m: TraceModel, row: number) => string;
}

const digits = (n: number) => String(Math.max(0, n)).length;

function keyColumn(i: number): ListColumn {
  return {
    header: '', // named per architecture by listHeader
    width: () => 6,
    right: true,
    value: (m, r) => {
      const k = KEY_FIELDS[m.arch].fields[i];
      const v = k === undefined ? NONE : m.keys[k]![r]!;
      return v === NONE ? '' : hex(v);
    },
  };
}

/** Marks: doorbell ▶, ring wrap ↺, error stop ✖ / error E, inferred ~. Violations are drawn by the view. */
function marks(m: TraceModel, r: number): string {
  const f = m.flags[r]!;
  const k = kindName(m, r);
  const a =
    k === 'doorbell' ? '▶' : k === 'ack' ? '✓' : k === 'cmd' ? (f & FLAG_ERROR_STOP ? '✖' : m.error[r] !== NO_CODE ? 'E' : ' ') : '⚡';
  const b = f & (FLAG_WRAPPED | FLAG_DOORBELL_WRAPS) ? '↺' : f & FLAG_INFERRED ? '~' : ' ';
  return a + b;
}

/** One line of detail for non-command rows (doorbells, acks, faults) in the list. */
function eventSummary(m: TraceModel, r: number): string {
  const k = kindName(m, r);
  if (k === 'doorbell') {
    const q = queueAt(m, doorbellOfRow(m, r));
    return `PROD ${posLabel(m, q.prod)}  +${q.published}${q.stopped ? `  stops at ${hex(slotOf(m, q.consAfter))}` : ''}`;
  }
  if (k === 'ack') return 'error acknowledged';
  const sid = m.keys.sid?.[r];
  return sid !== undefined && sid !== NONE ? `sid ${hex(sid)}` : '';
}

/** The command list's columns, left to right; the last (scope) takes what width is left. */
export const LIST_COLUMNS: readonly ListColumn[] = [
  { header: '', width: () => 2, value: marks },
  { header: 'seq', width: (m) => Math.max(3, digits(m.rows - 1)), right: true, value: (_m, r) => String(r) },
  {
    header: 'slot',
    width: (m) => Math.max(4, digits(m.entries - 1)),
    right: true,
    value: (m, r) => (m.slot[r] === NONE ? '' : String(m.slot[r])),
  },
  { header: 'w', width: () => 1, value: (m, r) => (m.wrap[r] === NO_CODE ? ' ' : String(m.wrap[r])) },
  {
    header: 'op',
    width: (m) => (m.arch === 'smmuv3' ? 19 : 13),
    value: (m, r) => (kindName(m, r) === 'cmd' ? (opName(m, r) ?? '(unknown)') : kindName(m, r)),
  },
  keyColumn(0),
  keyColumn(1),
  keyColumn(2),
  {
    header: 'scope',
    width: () => 0,
    value: (m, r) => {
      if (kindName(m, r) !== 'cmd') return eventSummary(m, r);
      if (m.op[r] === 0xffff) return '';
      const d = decodeRow(m, r);
      const c = classify(d);
      return d.error ? `${d.error.code}: ${d.error.message}` : c.scope ? describeScope(c.scope) : c.role;
    },
  },
];

/** Header names of the columns for an architecture. */
export function listHeader(m: TraceModel, width: number): string {
  const keys = KEY_FIELDS[m.arch].fields;
  let k = 0;
  return layout(m, width, (c) => (c.header === '' && c.right ? (keys[k++] ?? '') : c.header));
}

/** A row as one line of exactly `width` characters. */
export function listLine(m: TraceModel, row: number, width: number): string {
  return layout(m, width, (c) => c.value(m, row));
}

function layout(m: TraceModel, width: number, text: (c: ListColumn) => string): string {
  let out = '';
  for (const c of LIST_COLUMNS) {
    const w = c.width(m);
    const left = width - out.length;
    if (left <= 0) break;
    if (w === 0) {
      out += pad(text(c), left);
      break;
    }
    const cell = c.right ? padL(text(c), w) : pad(text(c), w);
    out += pad(cell.slice(0, w), Math.min(w, left)) + (out.length + w < width ? ' ' : '');
  }
  return pad(out, width);
}

/** A detail line with a semantic style the view maps to the theme. */
export interface DetailLine {
  readonly text: string;
  readonly style?: 'title' | 'label' | 'error' | 'dim' | 'violation';
}

/** Every line the detail pane can show for a row. */
export function detailLines(m: TraceModel, row: number, results?: PolicyResults): DetailLine[] {
  const k = kindName(m, row);
  const out: DetailLine[] = [];
  const ts = m.tsValid[row] ? `  t +${(Number(m.ts[row]! - (m.firstTs ?? 0n)) / 1e9).toFixed(6)} s` : '';
  const prov = `origin ${originName(m, row)}${m.flags[row]! & FLAG_INFERRED ? ' (inferred: restored, not seen)' : ''}${ts}`;
  if (k === 'cmd') {
    const d = decodeRow(m, row);
    const slot =
      m.slot[row] === NONE
        ? 'no slot'
        : `slot ${m.slot[row]} (${hex(m.slot[row]!)})${m.wrap[row] === NO_CODE ? ' rewrite' : ` wrap ${m.wrap[row]}`}`;
    out.push({ text: `seq ${row}  ${d.name} (${hex(d.code)})  ${slot}`, style: 'title' });
    if (d.def) out.push({ text: d.def.doc, style: 'dim' });
    out.push({ text: prov, style: 'dim' });
    const wn = m.codec.table.wordName;
    const word = (w: bigint, i: number) => `${wn(i)} 0x${w.toString(16).padStart(16, '0')}`;
    for (let i = 0; i < d.words.length; i += 2)
      out.push({
        text: d.words
          .slice(i, i + 2)
          .map((w, k) => word(w, i + k))
          .join('  '),
        style: 'label',
      });
    if (m.known && m.known.row[row]) {
      out.push({
        text: `known bits  ${m.known.w.map((w, i) => `${wn(i)} 0x${w[row]!.toString(16).padStart(16, '0')}`).join('  ')}`,
        style: 'dim',
      });
    }
    if (d.def) {
      const fields = d.def.fields.map((f) => {
        const v = d.fields[f.name]!;
        const named = f.values ? Object.entries(f.values).find(([, x]) => BigInt(x) === v)?.[0] : undefined;
        return {
          name: f.name,
          bits: f.parts.map((p) => rangeLabel(p, wn)).join(' + '),
          value: `${hex(v)}${!f.addr && v > 9n ? ` (${v})` : ''}${named ? ` ${named}` : ''}`,
        };
      });
      const nw = Math.max(5, ...fields.map((f) => f.name.length));
      const bw = Math.max(4, ...fields.map((f) => f.bits.length));
      out.push({ text: `${pad('field', nw)}  ${pad('bits', bw)}  value`, style: 'label' });
      for (const f of fields) out.push({ text: `${pad(f.name, nw)}  ${pad(f.bits, bw)}  ${f.value}` });
    }
    for (const [key, v] of Object.entries(derive(d))) out.push({ text: `${key}: ${v}` });
    const c = classify(d);
    out.push({ text: `role: ${c.role}${c.scope ? `; scope: ${describeScope(c.scope)}` : ''}`, style: 'label' });
    if (d.error)
      out.push({
        text: `error: ${d.error.code}${d.error.code === 'IQE' ? ` (IQERCD.IQEI=${d.error.value})` : ''}: ${d.error.message}`,
        style: 'error',
      });
    else if (errorName(m, row)) out.push({ text: `error: ${errorName(m, row)}`, style: 'error' });
    if (m.flags[row]! & FLAG_ERROR_STOP)
      out.push({ text: 'the consumer stopped here until the guest acknowledged the error', style: 'error' });
    const di = doorbellOfRow(m, row);
    if (di >= 0 && m.doorbells.row[di]! > row)
      out.push({
        text: `published by the doorbell at seq ${m.doorbells.row[di]} (PROD ${posLabel(m, m.doorbells.prod[di]!)})`,
        style: 'dim',
      });
  } else if (k === 'doorbell') {
    const q = queueAt(m, doorbellOfRow(m, row));
    out.push({
      text: `seq ${row}  doorbell: PROD ${posLabel(m, q.prod)}${m.flags[row]! & FLAG_DOORBELL_WRAPS ? '  (wraps the ring)' : ''}`,
      style: 'title',
    });
    out.push({ text: prov, style: 'dim' });
    const last = slotOf(m, step(q.prod, -1, ringPeriod(m)));
    out.push({
      text:
        q.published === 0
          ? 'published nothing (PROD unchanged)'
          : `published ${q.published} entr${q.published === 1 ? 'y' : 'ies'}: slots ${hex(slotOf(m, q.prevProd))}..${hex(last)}`,
    });
    out.push({ text: `CONS when written ${posLabel(m, q.consBefore)} (${q.outstanding} outstanding); after ${posLabel(m, q.consAfter)}` });
    if (q.stopped)
      out.push({ text: `the consumer stops at slot ${hex(slotOf(m, q.consAfter))}: its command raises an error`, style: 'error' });
    out.push({ text: 'press 2 for the ring at this doorbell', style: 'dim' });
  } else {
    out.push({ text: `seq ${row}  ${k}`, style: 'title' });
    out.push({ text: prov, style: 'dim' });
    const s = eventSummary(m, row);
    if (s) out.push({ text: s });
  }
  if (results) {
    const v = results.violations;
    const names = results.output.policies;
    for (let i = 0; i < v.count; i++) {
      if (v.seq[i] !== row) continue;
      out.push({ text: `${names[v.policy[i]!]!.policy}: ${v.kind[i]}: ${v.explanation[i]}`, style: 'violation' });
    }
  }
  return out;
}
