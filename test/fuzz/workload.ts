// Random valid workloads for the property tests: a seed → `invtrace gen` options (topology,
// kernel, mode, queue size, IOMMU features, fault injection), generated into memory and replayed
// under every policy without touching the disk. The same seed always gives the same case.

import { RecordBatch } from 'apache-arrow';
import type { Arch } from '../../formats/codec/table.js';
import { RingCursor } from '../../formats/ring.js';
import { MemorySink, TraceBuilder } from '../../formats/trace/builder.js';
import type { OpenTrace } from '../../formats/trace/io.js';
import { Rng } from '../../samples/rng.js';
import { plan, run } from '../../samples/gen/generate.js';
import type { OptionKey } from '../../samples/gen/options.js';
import { DEFAULT_COSTS } from '../../replay/cost/params.js';
import { replayTrace, type ReplayOutput } from '../../replay/replayer.js';
import { kitFor } from '../../replay/kits.js';
import { resolvePolicies, type ResolvedPolicy } from '../../replay/policies/index.js';
import { resolveTopology } from '../../replay/topology.js';

export type Fault = 'none' | 'ill' | 'atc-timeout';

export interface Case {
  readonly arch: Arch;
  readonly seed: number;
  readonly fault: Fault;
  /** The gen options, as on the command line (`invtrace gen ARCH --key value ...`). */
  readonly options: Readonly<Partial<Record<OptionKey, string>>>;
}

/** The command line that regenerates a case. */
export function genCommand(c: Case): string {
  const flag = (k: string) => `--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;
  return `invtrace gen ${c.arch} ${Object.entries(c.options)
    .map(([k, v]) => `${flag(k)} ${v}`)
    .join(' ')} -o case.arrow`;
}

/**
 * A random case: small queues (wraps: SMMUv3 from the 128 entries Linux needs, VT-d from the 256 the spec allows), 1–6 devices over 1–3 IOMMUs, shared and private domains,
 * ATS or not, both kernels and modes, VT-d legacy/scalable, first/second stage, caching mode on or
 * off, SMMUv3 RIL on or off, several CPUs; a third fault-free, a third with an illegal command,
 * a third with an ATC/device-TLB time-out (when a device has ATS and traffic).
 */
export function randomCase(arch: Arch, seed: number, commands: number): Case {
  const r = new Rng(seed * 2 + (arch === 'vtd' ? 1 : 0));
  const devices = 1 + r.int(6);
  const o: Record<string, string> = {
    seed: String(seed),
    commands: String(commands),
    requests: String(100000),
    kernel: r.pick(['6.1', '6.12']),
    mode: r.pick(['strict', 'strict', 'lazy']),
    devices: String(devices),
    ats: r.pick(['0', '0.5', '1']),
    domains: String(r.int(devices + 1)),
    iommus: String(1 + r.int(3)),
    driver: r.pick(['sg', 'virtio', 'nvme']),
    cpus: String(1 + r.int(3)),
    queue: String(arch === 'vtd' ? r.pick([256, 512]) : r.pick([128, 256, 512])),
  };
  if (arch === 'vtd') {
    o['cachingMode'] = r.pick(['on', 'off']);
    o['scalable'] = r.pick(['on', 'off']);
    o['stage'] = o['scalable'] === 'on' ? r.pick(['first', 'second']) : 'second'; // first stage needs scalable mode
  } else o['ril'] = r.pick(['on', 'off']);
  const fault = r.pick(['none', 'ill', 'atc-timeout'] as const);
  const at = Math.floor(commands * (0.2 + 0.6 * r.float()));
  const c: Case = { arch, seed, fault, options: fault === 'none' ? o : { ...o, inject: `${fault}@${at}` } };
  // atc-timeout needs an ATS device with traffic; without one the case stays fault-free.
  if (fault === 'atc-timeout' && !plan(arch, c.options).ok) return { arch, seed, fault: 'none', options: o };
  return c;
}

/** Generates a case into memory: an OpenTrace over the batches. */
export function generateCase(c: Case): OpenTrace {
  const p = plan(c.arch, c.options);
  if (!p.ok) throw new Error(`gen options refused (${genCommand(c)}): ${p.error.message}`);
  const sink = new MemorySink();
  run(p.value, sink);
  const schema = new TraceBuilder(p.value.header, new MemorySink()).schema;
  const batches: RecordBatch[] = sink.batches;
  return {
    path: `gen:${c.arch}:seed=${c.seed}`,
    header: p.value.header,
    schema,
    async *batches() {
      yield* batches;
    },
  };
}

let all: Promise<ResolvedPolicy[]> | undefined;
/** Every policy of `--policy all`. */
export function allPolicies(): Promise<ResolvedPolicy[]> {
  return (all ??= resolvePolicies(['all']));
}

/** Replays an in-memory trace under every policy (default costs, the header's topology). */
export async function replayAll(trace: OpenTrace): Promise<ReplayOutput> {
  const topology = await resolveTopology(trace);
  return replayTrace(trace, { kit: kitFor(trace.header.arch), topology, costs: DEFAULT_COSTS, policies: await allPolicies() });
}

/** The commands a hardware-direct queue takes (spec/smmuv3.md §5.4; VT-d: the invalidations and waits). */
export const DIRECT_OPS: Readonly<Record<Arch, ReadonlySet<string>>> = {
  smmuv3: new Set(['CMD_TLBI_NH_ASID', 'CMD_TLBI_NH_VA', 'CMD_ATC_INV', 'CMD_SYNC']),
  vtd: new Set(['iotlb_inv', 'p_iotlb_inv', 'dev_tlb_inv', 'p_dev_tlb_inv', 'inv_wait']),
};

/**
 * The same workload with only the commands a hardware-direct queue takes, laid out again from
 * slot 0 with the same doorbells (a fault-free trace: no rewrites, no acks), so that hw-direct
 * traps nothing and must show exactly what bare hardware shows.
 */
export async function directOnly(trace: OpenTrace): Promise<OpenTrace> {
  const h = trace.header;
  const keep = DIRECT_OPS[h.arch];
  const sink = new MemorySink();
  const b = new TraceBuilder({ ...h, start: 0 }, sink, 1 << 14);
  const entries = h.queue_entries;
  const cur = new RingCursor(entries);
  const words = h.desc_bytes === 32 ? 4 : 2;
  for await (const batch of trace.batches()) {
    const col = (n: string) => batch.getChild(n)!;
    const [kind, op] = [col('kind'), col('op')];
    const w = [col('w0'), col('w1'), col('w2'), col('w3')];
    for (let i = 0; i < batch.numRows; i++) {
      const k = kind.get(i) as string;
      if (k === 'cmd') {
        if (!keep.has(op.get(i) as string)) continue;
        b.command(
          cur.slot,
          w.slice(0, words).map((c) => BigInt((c.get(i) as bigint | number | null) ?? 0n)),
          {},
          cur.wrap,
        );
        cur.advance();
      } else if (k === 'doorbell') b.doorbell(cur.slot, cur.wrap);
      else throw new Error(`directOnly: a fault-free trace has no ${k} event`);
    }
  }
  b.flush();
  const batches: RecordBatch[] = sink.batches;
  return {
    path: `${trace.path}:direct-only`,
    header: b.header,
    schema: b.schema,
    async *batches() {
      yield* batches;
    },
  };
}
