// decode findings of issue 12 (../shared/findings/fuzz-2026-12/decode-minor.sh), through the CLI:
// StreamIDs are 32-bit unsigned (spec/smmuv3.md §2: CFGI_STE_RANGE SID is DW0[63:32]), and JSON
// never carries an integer above 2^53 as a number (a double cannot hold it).
import { describe, expect, it } from 'vitest';
import { cli } from '../../test/helpers.js';

describe('decode: SIDs at or above 2^31', () => {
  // 0x8100002800000004: opcode 0x04 CFGI_STE_RANGE, SID = DW0[63:32] = 0x81000028; DW1 = 0x2:
  // RANGE = 2, so 2^(2+1) = 8 StreamIDs from 0x81000028 (8-aligned) to 0x8100002f.
  it('CFGI_STE_RANGE with SID 0x81000028: the scope is unsigned hex', () => {
    const r = cli('decode', '--arch', 'smmuv3', '0x8100002800000004', '0x2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/scope: ste sid=0x81000028\.\.0x8100002f$/m);
    expect(JSON.parse(cli('decode', '--arch', 'smmuv3', '0x8100002800000004', '0x2', '--json').stdout).scope).toBe(
      'ste sid=0x81000028..0x8100002f',
    );
  });

  it('the same command with SID 0x01000028 (below 2^31) reads the same way', () => {
    expect(cli('decode', '--arch', 'smmuv3', '0x0100002800000004', '0x2').stdout).toMatch(/scope: ste sid=0x1000028\.\.0x100002f$/m);
  });
});

describe('decode --json: values above 2^53 stay exact', () => {
  // ATC_INV 0x4100200051900040 0x30: SIZE = DW1[5:0] = 48, so 2^48 pages of 4 KiB = 2^60 bytes,
  // above 2^53: a hex string. With SIZE = 0 the span is one 4 KiB page: a number.
  it('ATC_INV with SIZE 48: range_bytes is the hex string of 2^60', () => {
    const j = JSON.parse(cli('decode', '--arch', 'smmuv3', '0x4100200051900040', '0x30', '--json').stdout);
    expect(j.derived.range_bytes).toBe('0x1000000000000000');
    expect(BigInt(j.derived.range_bytes)).toBe(1n << 60n);
  });

  it('ATC_INV with SIZE 0: range_bytes is the number 4096', () => {
    const j = JSON.parse(cli('decode', '--arch', 'smmuv3', '0x4100200051900040', '0x0', '--json').stdout);
    expect(j.derived.range_bytes).toBe(4096);
  });
});
