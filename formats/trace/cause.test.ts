// The cause inference as ingest runs it, row by row while the trace is built (CauseWatch), and the
// one case that reads the trace back: a capture that is not caching mode gets its causes nulled.
// (None of the bundled captures takes that path: vtd-legacy-lazy has no page-selective
// invalidation, so small guest traces written here do.)

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { ingest } from '../ingest/ingest.js';
import { openTrace } from './io.js';
import { CauseWatch, primedCauseWatch } from './cause.js';
import { CAUSE_DEVTLB, CAUSE_PSI, CAUSE_WAIT } from './cause-kind.js';
import { viewBatch } from './view.js';

const dir = tempDir();

describe('CauseWatch', () => {
  it('causes alternate per (domain, page); waits and other commands between do not break a device-TLB pairing', () => {
    const w = new CauseWatch();
    // map 0x1000 (no partner), then its unmap (partner after a wait), then map 0x1000 again
    expect(w.command('iotlb_inv', 0x1000n, 6)).toBe(1);
    expect(w.command('iotlb_inv', 0x1000n, 6)).toBe(2);
    expect(w.command('inv_wait', undefined, 0)).toBeUndefined();
    expect(w.command('dev_tlb_inv', 0x1000n, 0)).toBeUndefined(); // pairs with the unmap above
    expect(w.command('iotlb_inv', 0x1000n, 6)).toBe(1);
    // the same page in another domain is its own page
    expect(w.command('iotlb_inv', 0x1000n, 7)).toBe(1);
    // a domain-wide invalidation (no range) has no cause and ends the pairing window
    expect(w.command('iotlb_inv', undefined, 6)).toBeUndefined();
    expect(w.command('dev_tlb_inv', 0x1000n, 0)).toBeUndefined(); // no partner: the last PSI was closed
    // domain 6: 3 invalidations, 1 paired (the unmap): 2 of 3 unpaired >= 10% -> caching mode;
    // agreement: map+unpaired (2) and unmap+paired (1) in ATS domain 6 = 3 of 3 (domain 7 is not ATS)
    expect(w.inference()).toEqual({
      caching_mode: true,
      evidence: 'domain 6: 2 of 3 page-selective invalidations have no device-TLB partner (map flushes under caching mode)',
      map: 3,
      unmap: 1,
      agree_with_devtlb: { agree: 3, of: 3 },
    });
  });

  it('every page-selective invalidation of the ATS domain paired: not caching mode', () => {
    const w = new CauseWatch();
    for (const base of [0x1000n, 0x2000n]) {
      w.command('iotlb_inv', base, 6);
      w.command('dev_tlb_inv', base, 0);
    }
    expect(w.marked).toBe(true);
    expect(w.inference()).toMatchObject({ caching_mode: false, map: 0, unmap: 0 });
  });

  it('a device-TLB partner counts in the domain of the page-selective invalidation it follows', () => {
    const w = new CauseWatch();
    // domain 6: two page-selective invalidations, no partner (not an ATS domain: never paired)
    w.command('iotlb_inv', 0x1000n, 6);
    w.command('iotlb_inv', 0x2000n, 6);
    // domain 7: one, paired
    w.command('iotlb_inv', 0x3000n, 7);
    w.command('dev_tlb_inv', 0x3000n, 0);
    // ATS domains: 7 only, 0 of 1 unpaired < 10%: not caching mode. Counted in domain 6 instead,
    // 6 would be the ATS domain with 1 of 2 unpaired (50%): caching mode.
    expect(w.inference()).toMatchObject({ caching_mode: false, map: 0, unmap: 0 });
  });
});

/** A guest ftrace of `qi_submit` lines, one submission each (10 µs apart: separate submissions). */
function ftrace(descs: readonly string[]): string {
  const head = ['# tracer: nop', '#', `# entries-in-buffer/entries-written: ${descs.length}/${descs.length}   #P:1`, '#'];
  const lines = descs.map((d, i) => `          <idle>-0       [000] d..2.     1.${String(100 + i * 10).padStart(6, '0')}: qi_submit: ${d}`);
  return [...head, ...lines, ''].join('\n');
}

/** Page-selective IOTLB invalidation of one page of domain 6, and the device-TLB one of the same page (qw0/qw1 as Linux 6.1 writes them). */
const psi = (page: string) => `iotlb_inv dmar0: 0x600f2 ${page} 0x0 0x0`;
const devtlb = (page: string) => `dev_tlb_inv dmar0: 0x10000000003 ${page} 0x0 0x0`;

/** Causes of the commands of a trace, in order (undefined: none), and its notes.cause. */
async function causes(path: string): Promise<{ causes: (string | undefined)[]; note: unknown }> {
  const t = await openTrace(path);
  const out: (string | undefined)[] = [];
  for await (const b of t.batches()) {
    const v = viewBatch(b);
    for (let i = 0; i < v.length; i++) if (v.kindOf(i) === 'cmd') out.push(v.causeOf(i));
  }
  return { causes: out, note: t.header.notes?.cause };
}

describe('primedCauseWatch', () => {
  it('is a fresh watch: the same causes and inference as a new one', () => {
    const primed = primedCauseWatch();
    const fresh = new CauseWatch();
    expect(primed.marked).toBe(false);
    expect(primed.inference()).toEqual(fresh.inference());
    const got: unknown[][] = [[], []];
    [primed, fresh].forEach((w, k) => {
      for (let i = 0; i < 50; i++) {
        const base = BigInt(i % 7) << 12n;
        got[k]!.push(w.commandOf(CAUSE_PSI, base, i % 7, 1 + (i % 2)));
        if (i % 3 !== 0) got[k]!.push(w.commandOf(CAUSE_DEVTLB, base, 0, 0));
        got[k]!.push(w.commandOf(CAUSE_WAIT, undefined, 0, 0));
      }
      got[k]!.push(w.inference());
    });
    expect(got[0]).toEqual(got[1]);
  });
});

describe('ingest: causes written in the first pass, nulled when not caching mode', () => {
  it('every page-selective invalidation paired with a device-TLB one: no cause, no note (the trace is read back once)', async () => {
    const p = join(dir, 'paired.txt');
    writeFileSync(p, ftrace([psi('0x1000'), devtlb('0x1000'), psi('0x1000'), devtlb('0x1000')]));
    const out = join(dir, 'paired.arrow');
    await ingest([p], { output: out });
    // 4 traced descriptors + the 4 waits Linux appends (inferred), none with a cause
    expect(await causes(out)).toEqual({ causes: new Array(8).fill(undefined), note: undefined });
  });

  it('one of two without its partner (50% >= 10%): caching mode, map then unmap on that page', async () => {
    const p = join(dir, 'unpaired.txt');
    writeFileSync(p, ftrace([psi('0x1000'), psi('0x1000'), devtlb('0x1000')]));
    const out = join(dir, 'unpaired.arrow');
    await ingest([p], { output: out });
    const r = await causes(out);
    // psi, wait, psi, wait, devtlb, wait: the first flush maps the page, the second unmaps it
    expect(r.causes).toEqual(['map', undefined, 'unmap', undefined, undefined, undefined]);
    expect(r.note).toMatchObject({ caching_mode: true, map: 1, unmap: 1, agree_with_devtlb: { agree: 2, of: 2 } });
  });
});
