// Inferring why each VT-d IOTLB invalidation of a capture was sent (the `cause` column: map or
// unmap), for captures of a guest under caching mode (CAP.CM = 1, QEMU caching-mode=on), where
// Linux invalidates on map as well as on unmap (spec/vtd.md §4.3). Ingest calls this once on the
// trace it wrote; a trace that is not caching mode is left as it is.
//
// Evidence of caching mode: Linux flushes the device TLBs of ATS devices on unmap but never on map
// (6.1 iommu_flush_iotlb_psi: `if (!cap_caching_mode(cap) || !map) iommu_flush_dev_iotlb`), so in a
// domain whose page-selective invalidations are followed by a device-TLB invalidation of the same
// address (an ATS domain), page-selective invalidations without one are map flushes. Without
// caching mode every page-selective invalidation of an ATS domain has its device-TLB partner.
// A capture is caching mode when at least MIN_UNPAIRED_SHARE of an ATS domain's page-selective
// invalidations have no partner.
// The cause itself follows the rule that holds on every domain, ATS or not: the invalidations of
// each IOVA page alternate map, unmap, map, ... (a page is mapped, then unmapped, before the IOVA
// allocator hands it out again). Per (domain, first page of the range). Domain-wide and global
// invalidations keep a null cause. Every inferred row has cause_inferred = 1; the header's notes
// get `cause` with the counts and how often the alternation agrees with the device-TLB evidence.

import { RecordBatch, Struct, makeData, type Data } from 'apache-arrow';
import { ArrowFileSink } from '../arrow/file-sink.js';
import { CodeCol, SmallCol, Uint8 } from '../arrow/fixed-columns.js';
import { openTrace } from './io.js';
import { traceDictionaries, traceSchema } from './schema.js';
import { viewBatch } from './view.js';

export const MIN_UNPAIRED_SHARE = 0.1;

export interface CauseInference {
  readonly caching_mode: boolean;
  readonly evidence: string;
  readonly map: number;
  readonly unmap: number;
  /** ATS-domain invalidations whose alternation cause matches the device-TLB evidence. */
  readonly agree_with_devtlb?: { readonly agree: number; readonly of: number };
}

interface Psi {
  readonly row: number;
  readonly did: number;
  readonly base: bigint;
  paired: boolean;
}

const PSI_OPS = new Set(['iotlb_inv', 'p_iotlb_inv']);
const DEVTLB_OPS = new Set(['dev_tlb_inv', 'p_dev_tlb_inv']);

/** Reads the page-selective IOTLB invalidations and whether a device-TLB one of the same address follows. */
async function scan(path: string): Promise<{ psis: Psi[]; rows: number; hasCause: boolean }> {
  const t = await openTrace(path);
  const psis: Psi[] = [];
  let rows = 0;
  let last: Psi | undefined;
  let hasCause = false;
  for await (const b of t.batches()) {
    const v = viewBatch(b);
    const base = b.getChild('range_base');
    const did = b.getChild('did');
    for (let i = 0; i < v.length; i++, rows++) {
      if (v.causeOf(i) !== undefined) hasCause = true;
      if (v.kindOf(i) !== 'cmd' || !v.op.valid(i)) continue;
      const op = v.op.names[v.op.codes[i]!]!;
      if (op === 'inv_wait') continue;
      const addr = base?.get(i) as bigint | null | undefined;
      if (DEVTLB_OPS.has(op)) {
        if (last !== undefined && addr !== null && addr !== undefined && addr === last.base) last.paired = true;
        continue;
      }
      last = undefined;
      if (!PSI_OPS.has(op) || addr === null || addr === undefined) continue;
      last = { row: rows, did: Number(did?.get(i) ?? 0), base: addr, paired: false };
      psis.push(last);
    }
  }
  return { psis, rows, hasCause };
}

/** Decides caching mode and the cause of each page-selective invalidation (row → 1 map, 2 unmap). */
export function decide(psis: readonly Psi[]): { inference: CauseInference; causes: Map<number, 1 | 2> } {
  const perDid = new Map<number, { paired: number; all: number }>();
  for (const p of psis) {
    const c = perDid.get(p.did) ?? { paired: 0, all: 0 };
    c.all++;
    if (p.paired) c.paired++;
    perDid.set(p.did, c);
  }
  const ats = [...perDid].filter(([, c]) => c.paired > 0);
  const cm = ats.some(([, c]) => (c.all - c.paired) / c.all >= MIN_UNPAIRED_SHARE);
  const causes = new Map<number, 1 | 2>();
  if (!cm) {
    const evidence =
      ats.length === 0
        ? 'no device-TLB invalidation follows any page-selective one: caching mode cannot be told, causes left unknown'
        : 'every page-selective invalidation of an ATS domain has its device-TLB partner: not caching mode';
    return { inference: { caching_mode: false, evidence, map: 0, unmap: 0 }, causes };
  }
  const atsDids = new Set(ats.map(([d]) => d));
  const mapped = new Set<string>();
  let map = 0;
  let agree = 0;
  let of = 0;
  for (const p of psis) {
    const key = `${p.did}/${p.base >> 12n}`;
    const isMap = !mapped.has(key);
    if (isMap) mapped.add(key);
    else mapped.delete(key);
    causes.set(p.row, isMap ? 1 : 2);
    if (isMap) map++;
    if (atsDids.has(p.did)) {
      of++;
      if (isMap === !p.paired) agree++;
    }
  }
  const [did, c] = ats.find(([, x]) => (x.all - x.paired) / x.all >= MIN_UNPAIRED_SHARE)!;
  return {
    inference: {
      caching_mode: true,
      evidence: `domain ${did}: ${c.all - c.paired} of ${c.all} page-selective invalidations have no device-TLB partner (map flushes under caching mode)`,
      map,
      unmap: psis.length - map,
      agree_with_devtlb: { agree, of },
    },
    causes,
  };
}

/** The trace's batches again, with the cause columns filled from `causes`. */
async function rewrite(path: string, causes: Map<number, 1 | 2>, inference: CauseInference): Promise<void> {
  const t = await openTrace(path);
  const header = { ...t.header, notes: { ...(t.header.notes ?? {}), cause: inference } };
  const schema = traceSchema(header);
  const dict = traceDictionaries(header.arch).cause;
  const iCause = schema.fields.findIndex((f) => f.name === 'cause');
  const iInferred = schema.fields.findIndex((f) => f.name === 'cause_inferred');
  const sink = new ArrowFileSink(path);
  try {
    let row = 0;
    for await (const b of t.batches()) {
      const n = b.numRows;
      const cause = new CodeCol(dict.type, dict.vector, n);
      const inferred = new SmallCol(new Uint8(), n);
      const v = viewBatch(b);
      for (let i = 0; i < n; i++, row++) {
        const c = causes.get(row);
        const kept = v.causeOf(i);
        if (c !== undefined) {
          cause.set(i, c - 1);
          inferred.set(i, 1);
        } else if (kept !== undefined) {
          cause.set(i, dict.indexOf(kept));
          inferred.set(i, (b.getChild('cause_inferred')?.get(i) as number | null) ?? 0);
        }
      }
      const children = [...b.data.children] as Data[];
      children[iCause] = cause.finish(n);
      children[iInferred] = inferred.finish(n);
      const data = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children });
      sink.write(new RecordBatch(schema, data));
    }
    sink.commit(schema);
  } catch (e) {
    sink.abort();
    throw e;
  }
}

/**
 * Fills `cause` on a VT-d caching-mode trace in place (atomically); returns what was inferred, or
 * undefined when the trace is not VT-d or already has causes (e.g. a generated trace).
 */
export async function inferCauses(path: string): Promise<CauseInference | undefined> {
  const t = await openTrace(path);
  if (t.header.arch !== 'vtd' || t.schema.fields.every((f) => f.name !== 'cause')) return undefined;
  const s = await scan(path);
  if (s.hasCause) return undefined;
  const { inference, causes } = decide(s.psis);
  if (inference.caching_mode) await rewrite(path, causes, inference);
  return inference;
}
