// Unit checks of the designs' building blocks (issue 14), each shown to fire in one case and to stay
// silent in a near-identical one: migrate's exactly-once check and switch point, the ingest-side
// cause inference, and the real caching-mode captures' map/unmap split against the guest's own
// counts (samples/captures/README.md).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../formats/ingest/ingest.js';
import { decide } from '../../formats/trace/cause.js';
import { openTrace } from '../../formats/trace/io.js';
import { resolvePolicies } from './index.js';
import { ExactlyOnce, switchSeq } from './migrate.js';
import { runReplay } from '../run.js';
import { ROOT, capture, haveCaptures, tempDir } from '../../test/helpers.js';

const dir = tempDir();

describe('migrate: exactly once', () => {
  it('fires when the destination executes a command the source executed', () => {
    const x = new ExactlyOnce();
    x.sourceExecuted(5);
    x.destinationExecuted(5);
    expect(x.twice).toBe(1);
  });
  it('stays silent when each command runs on one side', () => {
    const x = new ExactlyOnce();
    x.sourceExecuted(5);
    x.destinationExecuted(6);
    expect(x.twice).toBe(0);
  });
  it('forgets positions behind the consumer (never walked again)', () => {
    const x = new ExactlyOnce();
    x.sourceExecuted(5);
    x.prune(6);
    x.destinationExecuted(5);
    expect(x.twice).toBe(0);
  });
});

describe('migrate: the switch point and the spec', () => {
  it('at=SEQ is the sequence number; at=N% is that share of the rows, rounded down', () => {
    expect(switchSeq('17', undefined, 'm')).toBe(17);
    expect(switchSeq('50%', 17389, 'm')).toBe(8694); // 17389 / 2 = 8694.5
    expect(() => switchSeq('x', undefined, 'm')).toThrow(/at must be/);
    expect(() => switchSeq('150%', 10, 'm')).toThrow(/more than 100%/);
  });
  it('a spec without to= or with an unknown sub-policy is refused before the replay', async () => {
    await expect(resolvePolicies(['migrate:from=hw-direct,at=5'])).rejects.toThrow(/needs from=P,to=Q/);
    await expect(resolvePolicies(['migrate:from=hw-direct,to=nope,at=5'])).rejects.toThrow(/unknown policy "nope"/);
    const [ok] = await resolvePolicies(['migrate:from=hw-direct,to=linear-batch:vmm=prepass;split_on_wrap=true,at=50%']);
    expect(ok!.needsTraceLength).toBe(true);
  });
});

describe('cause inference (formats/trace/cause.ts)', () => {
  const psi = (row: number, base: bigint, paired: boolean, did = 6) => ({ row, did, base, paired });
  it('caching mode: an ATS domain with unpaired page-selective invalidations; the pages alternate map, unmap', () => {
    // map 0x1000 (no device-TLB partner), map 0x2000, unmap 0x1000 (partner), unmap 0x2000 (partner)
    const { inference, causes } = decide([psi(0, 0x1000n, false), psi(3, 0x2000n, false), psi(6, 0x1000n, true), psi(9, 0x2000n, true)]);
    expect(inference).toMatchObject({ caching_mode: true, map: 2, unmap: 2, agree_with_devtlb: { agree: 4, of: 4 } });
    expect([...causes]).toEqual([
      [0, 1],
      [3, 1],
      [6, 2],
      [9, 2],
    ]);
  });
  it('not caching mode: every page-selective invalidation of the ATS domain has its partner', () => {
    const { inference, causes } = decide([psi(0, 0x1000n, true), psi(3, 0x2000n, true), psi(6, 0x1000n, true)]);
    expect(inference.caching_mode).toBe(false);
    expect(causes.size).toBe(0);
  });
  it('no ATS domain: caching mode cannot be told, no cause', () => {
    expect(decide([psi(0, 0x1000n, false), psi(3, 0x1000n, false)]).inference).toMatchObject({ caching_mode: false });
  });
});

describe.skipIf(!haveCaptures)('cause inference on the real captures', () => {
  it.each([
    // guest side of each run (samples/captures/README.md): unmap 5,196 and 6,072 iommu:unmap events
    ['vtd-legacy-strict', 5196],
    ['vtd-scalable-strict', 6072],
  ])("%s (caching mode on): the inferred unmap flushes equal the guest's unmap count", async (run, unmaps) => {
    const out = join(dir, `${run}.arrow`);
    await ingest([capture(`qemu-${run}.log.gz`), capture(`guest-${run}.txt.gz`)], { output: out });
    const notes = (await openTrace(out)).header.notes as {
      cause: { caching_mode: boolean; unmap: number; agree_with_devtlb: { agree: number; of: number } };
    };
    expect(notes.cause.caching_mode).toBe(true);
    expect(notes.cause.unmap).toBe(unmaps);
    expect(notes.cause.agree_with_devtlb.agree).toBe(notes.cause.agree_with_devtlb.of);
  });
  it('vtd-legacy-lazy (caching mode off): no cause is inferred', async () => {
    const out = join(dir, 'lazy.arrow');
    await ingest([capture('qemu-vtd-legacy-lazy.log.gz'), capture('guest-vtd-legacy-lazy.txt.gz')], { output: out });
    expect((await openTrace(out)).header.notes?.cause).toBeUndefined();
  });
});

describe('the cause column: old traces and bad input', () => {
  it('a trace written before the column existed replays; its invalidations count as unmaps', async () => {
    // scenario (k) with the cause and cause_inferred columns removed, as an older invtrace wrote it
    const src = join(dir, 'k.arrow');
    await ingest([join(ROOT, 'samples/scenarios/k-vtd-caching-mode-map-unmap.jsonl')], { output: src });
    const t = tableFromIPC(readFileSync(src));
    const keep = t.schema.fields.map((f) => f.name).filter((n) => n !== 'cause' && n !== 'cause_inferred');
    const old = t.select(keep);
    old.schema.metadata.set('invtrace.header', t.schema.metadata.get('invtrace.header')!);
    const oldPath = join(dir, 'k-old.arrow');
    writeFileSync(oldPath, tableToIPC(old, 'file'));
    const r = await runReplay(oldPath, { policies: ['shadow'] });
    // the same 3 invalidations, all unmaps now: 2 devices x 3 = 6 UNMAP_DMA calls, no pin
    expect(r.policies[0]!.detail).toMatchObject({ map_flushes: 0, unmap_flushes: 3, cause_unknown: 3, pages_pinned: 0 });
    expect(r.policies[0]!.ioctls).toBe(6);
  });
  it('a JSONL cause other than map/unmap is refused with the file and line', async () => {
    const bad = join(dir, 'bad-cause.jsonl');
    writeFileSync(
      bad,
      [
        '{"invtrace": 1, "arch": "vtd", "queue_entries": 256, "topology": {"iommus": 1, "devices": [{"sid": "0x100", "domain": 6}]}}',
        '{"cmd": {"op": "iotlb_inv", "g": 3, "did": 6, "addr": "0x1000"}, "cause": "mapped"}',
      ].join('\n'),
    );
    await expect(ingest([bad], { output: join(dir, 'bad.arrow') })).rejects.toThrow(/bad-cause\.jsonl.*2.*cause must be "map" or "unmap"/s);
  });
});
