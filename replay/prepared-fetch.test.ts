import { describe, expect, it } from 'vitest';
import type { Decoded } from '../formats/codec/codec.js';
import { SMMUV3 } from '../formats/codecs.js';
import { unwrap } from '../formats/result.js';
import { GuestMemory } from './memory.js';
import type { Topology } from '../formats/trace/header.js';
import { FetchShare, PreparedFetch, fetchShareOf } from './prepared-fetch.js';
import { kitFor } from './kits.js';
import { GuestQueue, SYNC, cmd } from './smmuv3/testing.js';
import { desc, rig, STATUS_BASE } from './vtd/testkit.js';

const BASE = 0x4000_0000;
const tlbi = (asid: number) => unwrap(SMMUV3.encode('TLBI_NH_ASID', { ASID: asid }));

describe('PreparedFetch', () => {
  it('prepares each command once, found by its bits in place or its words', () => {
    const mem = new GuestMemory();
    mem.addRegion(BigInt(BASE), 4096);
    const made: Decoded[] = [];
    const f = new PreparedFetch(SMMUV3, {}, (d) => (made.push(d), { name: d.name }));
    mem.writeWordsAt(BASE, tlbi(3));
    mem.writeWordsAt(BASE + 16, tlbi(3));
    const a = f.fetch(mem, BASE, [0n, 0n]);
    expect(f.fetch(mem, BASE + 16, [0n, 0n])).toBe(a);
    expect(f.decode(tlbi(3))).toBe(a);
    mem.writeWordsAt(BASE, tlbi(4));
    expect(f.fetch(mem, BASE, [0n, 0n])).not.toBe(a);
    expect(made.length).toBe(2);
  });
});

describe('FetchShare', () => {
  it('gives one instance per key', () => {
    const s = new FetchShare();
    const make = () => new PreparedFetch(SMMUV3, {}, (d) => d.name);
    const a = s.of('x', make);
    expect(s.of('x', make)).toBe(a);
    expect(s.of('y', make)).not.toBe(a);
  });

  it('VT-d units of other capabilities do not share: compat refuses a wait with PD, the architecture runs it', () => {
    const share = new FetchShare();
    const qemu = rig({ unit: { compat: 'qemu-7.2', fetchShare: share } });
    const arch = rig({ unit: { fetchShare: share } });
    const pd = desc('inv_wait', { SW: 1, PD: 1, STATUS_ADDR: STATUS_BASE, STATUS_DATA: 2 });
    qemu.submit(pd);
    arch.submit(pd);
    expect(qemu.unit.consumer().error?.code).toBe('IQE');
    expect(arch.unit.consumer().error).toBeUndefined();
    expect(arch.completed()).toEqual([0]);
  });

  it('VT-d units of other CAP.MAMV do not share: AM 10 is IQE above MAMV 9 only', () => {
    const share = new FetchShare();
    const small = rig({ unit: { mamv: 9, fetchShare: share } });
    const big = rig({ unit: { fetchShare: share } });
    const psi = desc('iotlb_inv', { G: 3, DID: 6, AM: 10, ADDR: 0n });
    big.submit(psi);
    small.submit(psi);
    expect(big.unit.consumer().error).toBeUndefined();
    expect(small.unit.consumer().error?.code).toBe('IQE');
  });

  it('SMMUv3 units of other features do not share: ATC_INV without IDR0.ATS is CERROR_ILL', () => {
    const share = new FetchShare();
    const withAts = new GuestQueue(3, { fetchShare: share });
    const noAts = new GuestQueue(3, { features: { ats: false }, fetchShare: share });
    const inv = cmd('CMD_ATC_INV', { SID: 1, SIZE: 52 });
    withAts.push(inv, SYNC);
    noAts.push(inv, SYNC);
    expect(withAts.unit.consumer().error).toBeUndefined();
    expect(noAts.unit.consumer().error?.code).toBe('CERROR_ILL');
  });
});

/** One vIOMMU over one physical unit with one device (ATS on). */
const topology = (): Topology => ({
  iommus: [{ id: 0, vmid: 1 }],
  devices: [{ sid: 0x8, psid: 0x108, iommu: 0, ats: true, domain: 1, hwpt: 0 }],
});

describe('fetchShareOf', () => {
  it("one replay's hosts share by their Topology object: the same object, the same share; an equal copy, its own", () => {
    // A replay makes every policy's host for one Topology object; another replay (or another
    // share's thread) has its own object even when its devices are the same, so it never sees
    // this replay's tables.
    const t: Topology = {
      source: 'header',
      devices: [{ sid: 8, psid: 8, iommu: 0, ats: false, domain: 1, hwpt: 0, name: 'a' }],
    } as unknown as Topology;
    const copy = structuredClone(t);
    expect(fetchShareOf(t)).toBe(fetchShareOf(t));
    expect(fetchShareOf(copy)).not.toBe(fetchShareOf(t));
  });

  it('both kits pass the share to their hosts: two hosts of one topology fetch through one PreparedFetch', () => {
    for (const arch of ['smmuv3', 'vtd'] as const) {
      const t = topology();
      const kept = (fetchShareOf(t) as unknown as { byKey: Map<string, unknown> }).byKey;
      expect(kept.size).toBe(0);
      kitFor(arch).host(t, () => {});
      const made = kept.size;
      kitFor(arch).host(t, () => {});
      expect(made).toBeGreaterThan(0); // the first host's units took an instance from this share
      expect(kept.size).toBe(made); // the second host's found the same one
    }
  });
});
