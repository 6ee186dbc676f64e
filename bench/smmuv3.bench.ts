// SMMUv3 emulator throughput on the largest SMMUv3 capture (qemu-smmuv3-strict.log.gz, 11,590
// commands): the capture is ingested once, its rows loaded into arrays, then replayed through a
// fresh guest unit REPS times (commands per second through the CMDQ consumer, with and without
// an event sink), and its invalidations pushed through the host model (iommufd path, physical
// queue) one ioctl per command and in one ioctl per doorbell.

import type { Topology } from '../formats/trace/header.js';
import { GuestMemory } from '../replay/memory.js';
import type { Smmuv3InvEntry } from '../replay/host.js';
import { DATA_ARM_SMMUV3, guestSmmu, Smmuv3Host } from '../replay/smmuv3/index.js';
import { timeReps, type Bench } from './harness.js';
import { capturePath, loadRows, type LoadedRows } from './rows.js';

const CAPTURE = capturePath('qemu-smmuv3-strict.log.gz');
const REPS = 40;
const BASE = 0x4000_0000n;

/** One pass of the capture through a fresh guest unit; returns the commands consumed. */
function replay(l: LoadedRows, withEvents: boolean): number {
  const mem = new GuestMemory();
  mem.addRegion(BASE, l.entries * 16);
  let _events = 0; // counted so the event hook does some work; never read
  const unit = guestSmmu(
    l.topology,
    mem,
    withEvents
      ? {
          events: () => {
            _events++;
          },
        }
      : {},
  );
  unit.configureQueue(BASE, l.entries, 16);
  const w: bigint[] = [0n, 0n];
  for (let i = 0; i < l.kind.length; i++) {
    if (l.kind[i] === 0) {
      w[0] = l.w0[i]!;
      w[1] = l.w1[i]!;
      mem.writeWords(BASE + BigInt(l.slot[i]! * 16), w);
    } else unit.writeProducer(l.slot[i]!, l.wrap[i]!);
  }
  return unit.executed;
}

/** The capture's invalidations through the host model: per command, or one ioctl per doorbell. */
function host(l: LoadedRows, perCommand: boolean): number {
  const topology: Topology = { iommus: [{ id: 0, vmid: 1 }], devices: [{ sid: 0x8, psid: 0x8, iommu: 0, ats: false, domain: 1, hwpt: 0 }] };
  const h = new Smmuv3Host(topology, () => undefined);
  const id = h.objects[0]!.id;
  const accepted = new Set([0x10, 0x11, 0x12, 0x13, 0x30]);
  let batch: Smmuv3InvEntry[] = [];
  let sent = 0;
  const flush = () => {
    if (batch.length === 0) return;
    const r = h.invalidate({ id, dataType: DATA_ARM_SMMUV3, entryLen: 16, entries: batch, entryNum: batch.length });
    if (r.errno !== 0) throw new Error(`host: ${r.errno}`);
    sent += r.entryNum;
    batch = [];
  };
  for (let i = 0; i < l.kind.length; i++) {
    if (l.kind[i] === 1) flush();
    else if (accepted.has(Number(l.w0[i]! & 0xffn))) {
      batch.push([l.w0[i]!, l.w1[i]!]);
      if (perCommand) flush();
    }
  }
  flush();
  return sent;
}

export const benches: readonly Bench[] = [
  {
    name: 'smmuv3',
    async run() {
      const l = await loadRows([CAPTURE]);
      const times = (f: () => number) => timeReps(f, REPS);
      await times(() => replay(l, true)); // warm-up: JIT and first-touch of the ring
      const bare = await times(() => replay(l, false));
      const ev = await times(() => replay(l, true));
      const single = await times(() => host(l, true));
      const batched = await times(() => host(l, false));
      const note = `qemu-smmuv3-strict, ${l.commands} commands x ${REPS}`;
      return [
        { name: 'guest unit, CMDQ consumer', value: bare.value / bare.seconds, unit: 'cmd/s', note },
        { name: 'guest unit + event sink (effects, QEMU detail)', value: ev.value / ev.seconds, unit: 'cmd/s', note },
        {
          name: 'host model, one ioctl per doorbell',
          value: batched.value / batched.seconds,
          unit: 'entry/s',
          note: 'invalidations only; 63+SYNC blocks on the physical queue',
        },
        { name: 'host model, one ioctl per command', value: single.value / single.seconds, unit: 'entry/s', note: 'QEMU accel mode shape' },
      ];
    },
  },
];
