// Filter and search expressions on a real capture, each count checked against the Arrow rows
// directly; and the errors a user sees for bad terms.

import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { captureTrace, splitDomainReplay, traceRows } from '../test-utils/fixtures.js';
import { parseQuery, selectRows, type QueryContext } from './filter.js';
import { loadResults } from './results.js';
import { loadTraceModel } from './trace-model.js';

const dir = tempDir();
let ctx: QueryContext;
let rows: Record<string, unknown>[];
let withResults: QueryContext;

beforeAll(async () => {
  const path = await captureTrace(dir, 'vtd-legacy-strict');
  const model = await loadTraceModel(path);
  rows = await traceRows(path);
  ctx = { model };
  const replay = await splitDomainReplay(dir, path);
  withResults = { model, results: await loadResults(replay.dir, 'folder') };
});

const count = (expr: string, c = ctx) => {
  const q = parseQuery(expr, c);
  if (!q.ok) throw new Error(q.error.message);
  return selectRows(c.model, q.value.test).length;
};
const where = (f: (r: Record<string, unknown>) => boolean) => rows.filter(f).length;

describe('filter expressions', () => {
  it.each<[string, (r: Record<string, unknown>) => boolean]>([
    ['op=iotlb_inv', (r) => r.op === 'iotlb_inv'],
    ['op=IOTLB_INV', (r) => r.op === 'iotlb_inv'],
    ['op=tlb', (r) => typeof r.op === 'string' && r.op.includes('tlb')],
    ['op=iotlb_inv,dev_tlb_inv', (r) => r.op === 'iotlb_inv' || r.op === 'dev_tlb_inv'],
    ['kind=doorbell', (r) => r.kind === 'doorbell'],
    ['-kind=doorbell', (r) => r.kind !== 'doorbell'],
    ['did=6', (r) => r.did === 6],
    ['domain=0x6', (r) => r.did === 6],
    ['sid=0x100', (r) => r.sid === 0x100],
    ['op=dev_tlb_inv sid=0x100', (r) => r.op === 'dev_tlb_inv' && r.sid === 0x100],
    ['slot=0..15 kind=cmd', (r) => r.kind === 'cmd' && (r.slot as number) <= 15],
    ['seq=100..199', (r) => (r.seq as number) >= 100 && (r.seq as number) <= 199],
    ['error', (r) => r.error !== null],
  ])('%s', (expr, f) => {
    expect(count(expr)).toBe(where(f));
  });

  it('a bare word is an op name, a bare number a seq, slot or key field', () => {
    expect(count('wait')).toBe(where((r) => r.op === 'inv_wait'));
    expect(count('6')).toBe(where((r) => r.seq === 6 || r.slot === 6 || r.did === 6 || r.sid === 6 || r.pasid === 6));
  });

  it('verdict=violation marks the rows a policy found a violation at', () => {
    const v = withResults.results!.violations;
    const any = new Set(v.seq);
    expect(any.size).toBeGreaterThan(0);
    expect(count('verdict=violation', withResults)).toBe(any.size);
    const names = withResults.results!.output.policies.map((p) => p.policy);
    const devtlb = names.indexOf('devtlb-nop');
    const ofDevtlb = new Set(Array.from(v.seq).filter((_, i) => v.policy[i] === devtlb));
    expect(count('verdict=violation policy=devtlb-nop', withResults)).toBe(ofDevtlb.size);
    expect(count('verdict=ok', withResults)).toBe(rows.length - any.size);
  });

  it.each([
    ['bogus=1', /unknown filter key "bogus"/],
    ['sid=zz', /sid: "zz" is not a number/],
    ['op=nosuchop', /no vtd command name contains "nosuchop"/],
    ['asid=1', /vtd commands have no asid field/],
    ['kind=nope', /kind: "nope" is not one of cmd, doorbell/],
    ['verdict=violation', /verdict: no policy results yet/],
    ['policy=raw-ring', /policy=NAME goes with verdict=/],
  ])('%s is refused: %s', (expr, re) => {
    const q = parseQuery(expr, ctx);
    expect(q.ok).toBe(false);
    if (!q.ok) expect(q.error.message).toMatch(re);
  });
});
