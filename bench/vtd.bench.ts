// VT-d emulator throughput on the largest VT-d capture (qemu-vtd-scalable-strict.log.gz with its
// guest trace for the PASID-cache/PASID-IOTLB words QEMU 7.2 does not print: 34,762 descriptors in
// 256-bit slots): ingested once, rows loaded into arrays, then replayed through a fresh guest unit
// REPS times (descriptors per second through the IQ consumer, with and without an event sink);
// and the IOTLB invalidations pushed through the host model (iommufd path, physical queue), one
// ioctl per descriptor and one per doorbell.

import { U64_MAX } from '../formats/bits.js';
import { published } from '../formats/ring.js';
import { GuestMemory } from '../replay/memory.js';
import { IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, VtdHost, vtdKit } from '../replay/vtd/index.js';
import type { VtdInvEntry } from '../replay/host.js';
import { timeReps, type Bench } from './harness.js';
import { capturePath, loadRows, type LoadedRows } from './rows.js';

const INPUTS = [capturePath('qemu-vtd-scalable-strict.log.gz'), capturePath('guest-vtd-scalable-strict.txt.gz')];
const REPS = 20;
const BASE = 0x2220000n;

/**
 * One pass of the capture through a fresh guest unit; returns the descriptors consumed. With
 * `probe`, every device translates the page of each page-selective IOTLB invalidation before the
 * doorbell that publishes it, so the invalidation has entries to drop (the oracle's use).
 */
function replay(l: LoadedRows, withEvents: boolean, probe = false): number {
  const mem = new GuestMemory();
  mem.addRegion(BASE, l.entries * l.descBytes);
  let _events = 0; // counted so the event hook does some work; never read
  const unit = vtdKit.guestUnit(
    l.topology,
    mem,
    withEvents
      ? () => {
          _events++;
        }
      : undefined,
  );
  unit.configureQueue(BASE, l.entries, l.descBytes);
  const w: bigint[] = l.descBytes === 32 ? [0n, 0n, 0n, 0n] : [0n, 0n];
  let last = 0;
  let consumed = 0;
  for (let i = 0; i < l.kind.length; i++) {
    if (l.kind[i] === 0) {
      w[0] = l.w0[i]!;
      w[1] = l.w1[i]!;
      mem.writeWords(BASE + BigInt(l.slot[i]! * l.descBytes), w);
      if (probe && (w[0] & 0x3fn) === 0x32n) for (const d of l.topology.devices) unit.translate(d.sid, undefined, w[1] & ~0xfffn);
    } else {
      unit.writeProducer(l.slot[i]!, 0);
      const now = unit.consumer().index;
      consumed += published(last, now, l.entries); // IQH has no wrap bit: distance on E
      last = now;
    }
  }
  if (unit.consumer().error !== undefined) throw new Error(`replay stopped: ${unit.consumer().error!.message}`);
  return consumed;
}

/** The IOTLB/P-IOTLB descriptors as iommufd entries (PSI: 2^AM pages, IH → LEAF; others: everything). */
function asEntry(w0: bigint, w1: bigint): VtdInvEntry | undefined {
  const type = Number(w0 & 0xfn);
  if (type !== 2 && type !== 6) return undefined;
  if (((w0 >> 4n) & 3n) !== 3n) return { addr: 0n, npages: U64_MAX, flags: 0, reserved: 0 };
  return { addr: w1 & ~0xfffn, npages: 1n << (w1 & 0x3fn), flags: Number((w1 >> 6n) & 1n), reserved: 0 };
}

function host(l: LoadedRows, perDescriptor: boolean): number {
  const h = new VtdHost(l.topology, () => undefined);
  const id = h.objects[0]!.id;
  let batch: VtdInvEntry[] = [];
  let sent = 0;
  const flush = () => {
    if (batch.length === 0) return;
    const r = h.invalidate({ id, dataType: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, entryLen: 24, entries: batch, entryNum: batch.length });
    if (r.errno !== 0) throw new Error(`host: ${r.errno}`);
    sent += r.entryNum;
    batch = [];
  };
  for (let i = 0; i < l.kind.length; i++) {
    if (l.kind[i] === 1) flush();
    else {
      const e = asEntry(l.w0[i]!, l.w1[i]!);
      if (e === undefined) continue;
      batch.push(e);
      if (perDescriptor) flush();
    }
  }
  flush();
  return sent;
}

export const benches: readonly Bench[] = [
  {
    name: 'vtd',
    async run() {
      const l = await loadRows(INPUTS);
      const times = (f: () => number) => timeReps(f, REPS);
      await times(() => replay(l, true)); // warm-up: JIT and first-touch of the ring
      const bare = await times(() => replay(l, false));
      const ev = await times(() => replay(l, true));
      const probed = await times(() => replay(l, false, true));
      const batched = await times(() => host(l, false));
      const single = await times(() => host(l, true));
      const note = `qemu+guest-vtd-scalable-strict, ${l.commands} descriptors x ${REPS}`;
      return [
        { name: 'guest unit, IQ consumer', value: bare.value / bare.seconds, unit: 'desc/s', note },
        { name: 'guest unit + event sink (effects, QEMU detail)', value: ev.value / ev.seconds, unit: 'desc/s', note },
        {
          name: 'guest unit, caches filled by probes',
          value: probed.value / probed.seconds,
          unit: 'desc/s',
          note: `translation per device per PSI included (${l.topology.devices.length} devices)`,
        },
        {
          name: 'host model, one ioctl per doorbell',
          value: batched.value / batched.seconds,
          unit: 'entry/s',
          note: 'IOTLB/P-IOTLB descriptors as entries; P-IOTLB + devTLBs + wait per entry',
        },
        {
          name: 'host model, one ioctl per descriptor',
          value: single.value / single.seconds,
          unit: 'entry/s',
          note: 'QEMU accel mode shape',
        },
      ];
    },
  },
];
