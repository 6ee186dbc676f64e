// The command-line contract scripts rely on (DESIGN.md "Command line"): output shapes and exit
// codes of decode, ingest, info and export, run on the compiled CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from '../test/helpers.js';

const dir = tempDir();

describe('invtrace decode', () => {
  it('SMMUv3 TLBI_NH_VA from the captures (issue 2 acceptance)', () => {
    const r = cli('decode', '--arch', 'smmuv3', '0x1000000000012', '0xffff6701', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.op).toBe('CMD_TLBI_NH_VA');
    expect(j.valid).toBe(true);
    expect(j.fields).toMatchObject({ asid: 1, vmid: 0, addr: '0xffff6000', tg: 1, ttl: 3, leaf: 1 });
    expect(j.named.tg).toBe('4K');
    expect(j.derived).toMatchObject({ pages: 1, granule_bytes: 4096, range_base: '0xffff6000', range_bytes: 4096 });
  });
  it('VT-d IOTLB page-selective invalidation of domain 6, mask 0 (issue 2 acceptance)', () => {
    const r = cli('decode', '--arch', 'vtd', '0x600f2', '0xffff8000', '--json');
    const j = JSON.parse(r.stdout);
    expect(j.op).toBe('iotlb_inv');
    expect(j.fields).toMatchObject({ g: 3, did: 6, addr: '0xffff8000', am: 0 });
    expect(j.derived).toMatchObject({ granularity: 'page-selective-within-domain', pages: 1 });
  });
  it('shows the hardware error of a malformed command, with exit 0 (decoding worked)', () => {
    const r = cli('decode', '--arch', 'vtd', '0x600f2', '0xffff8080');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/error: IQE \(IQERCD.IQEI=4\): reserved bits set in qw1: 0x80/);
  });
  it('lists the command table', () => {
    const r = cli('decode', '--arch', 'smmuv3', '--list');
    expect(r.stdout).toMatch(/0x46\s+CMD_SYNC/);
    expect(r.stdout).toMatch(/CS\s+DW0\[13:12\]/);
  });
  it.each([
    [['decode', '--arch', 'smmuv3', '0xnope', '0x0'], /word 0: "0xnope" is not a 64-bit value/],
    [['decode', '--arch', 'smmuv3', '0x1'], /smmuv3 takes 2 words, got 1/],
    [['decode', '--arch', 'arm', '0x1', '0x0'], /argument 'arm' is invalid/],
    [['info', join('/nonexistent', 'x.arrow')], /x.arrow: no such file/],
    [['bogus-command'], /unknown command/],
  ])('bad input %j exits 2 with one line on stderr', (args, re) => {
    const r = cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('invtrace ingest, info, export', () => {
  it('ingests the DESIGN.md example scenario and reports it', () => {
    const src = join(dir, 'design.jsonl');
    writeFileSync(
      src,
      `{"invtrace": 1, "arch": "vtd", "queue_entries": 256, "desc_bytes": 16,
 "topology": {"iommus": 1, "devices": [{"sid": "0x100", "psid": "0x100", "iommu": 0, "ats": true, "domain": 6}]}}
{"cmd": ["0x600f2", "0xffff8000"]}
{"cmd": ["0x10000000003", "0xffff8000"]}
{"cmd": ["0x200000025", "0x1046194"]}
{"doorbell": true}
`,
    );
    const out = join(dir, 'design.arrow');
    expect(cli('ingest', src, '-o', out).code).toBe(0);
    const info = JSON.parse(cli('info', out, '--json').stdout);
    expect(info).toMatchObject({ arch: 'vtd', commands: 3, doorbells: 1, by_op: { iotlb_inv: 1, dev_tlb_inv: 1, inv_wait: 1 } });
    const text = cli('info', out).stdout;
    expect(text).toMatch(/commands 3, doorbells 1/);
    const back = join(dir, 'back.jsonl');
    expect(cli('export', out, '-o', back).code).toBe(0);
  });
  it('a malformed scenario names file and line, exit 2, and writes no output', () => {
    const src = join(dir, 'bad.jsonl');
    writeFileSync(src, '{"invtrace": 1, "arch": "smmuv3", "queue_entries": 16}\n{"cmd": ["0x12"]}\n');
    const out = join(dir, 'bad.arrow');
    const r = cli('ingest', src, '-o', out);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^invtrace: .*bad.jsonl:2: cmd: expected 2 words, got 1$/);
    expect(cli('info', out).code).toBe(2);
  });
});
