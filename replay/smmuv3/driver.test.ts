// The host kernel's queue (driver.ts): a command as the queue writes it (HostCommand: halves,
// opcode, an ATC_INV's SID), the commands and the CMD_SYNC in the ring at PROD, one host op each.
import { describe, expect, it } from 'vitest';
import type { HostOp } from '../host.js';
import { cmd, SYNC } from './encode.js';
import { hostCommand, PhysicalQueue, PHYS_QUEUE_BASE, type HostCommand } from './driver.js';

describe('HostCommand', () => {
  it('halves low half first, the opcode, and an ATC_INV its SID (qw0[63:32]); -1 for others', () => {
    const atc = hostCommand(cmd('CMD_ATC_INV', { SID: 0x4001, SSID: 3, ADDR: 0x12345000n, SIZE: 2 }));
    const halves = (c: HostCommand) => [c.h0, c.h1, c.h2, c.h3].map((h) => h >>> 0);
    expect(halves(atc)).toEqual([
      Number(atc.words[0] & 0xffffffffn),
      Number(atc.words[0] >> 32n),
      Number(atc.words[1] & 0xffffffffn),
      Number(atc.words[1] >> 32n),
    ]);
    expect(atc.code).toBe(0x40);
    expect(atc.sid).toBe(0x4001);
    const tlbi = hostCommand(cmd('CMD_TLBI_NH_VA', { VMID: 0xffff, ASID: 0xffff, ADDR: 0xfffff000n }));
    expect(tlbi.code).toBe(0x12);
    expect(tlbi.sid).toBe(-1);
    const w0 = tlbi.words[0];
    expect(w0 >> 63n).toBe(1n); // a half at or above 2^31: kept unsigned
    expect(tlbi.h1).toBeLessThan(0); // int32 fields: the same bits as the unsigned half
    expect(halves(tlbi)).toEqual([
      Number(w0 & 0xffffffffn),
      Number(w0 >> 32n),
      Number(tlbi.words[1] & 0xffffffffn),
      Number(tlbi.words[1] >> 32n),
    ]);
  });
});

describe('PhysicalQueue.issue', () => {
  it('writes each command and a CMD_SYNC at PROD, as their words, with a host op each', () => {
    const ops: HostOp[] = [];
    const q = new PhysicalQueue(0, (o) => ops.push(o), 7);
    const cmds = [
      hostCommand(cmd('CMD_TLBI_NH_VA', { VMID: 1, ASID: 0x8001, ADDR: 0x7000n })),
      hostCommand(cmd('CMD_CFGI_STE', { SID: 0x4000, LEAF: 1 })),
    ];
    const name = (w: readonly bigint[]) => (Number(w[0]! & 0xffn) === 0x12 ? 'CMD_TLBI_NH_VA' : 'CMD_CFGI_STE');
    expect(q.issue(cmds, name)).toBe(0);
    expect(q.issue(cmds, name, 1)).toBe(0);
    expect(q.mem.readWords(PHYS_QUEUE_BASE, 8)).toEqual([...cmds[0]!.words, ...cmds[1]!.words, ...SYNC, ...cmds[0]!.words]);
    expect(q.mem.readWords(PHYS_QUEUE_BASE + 64n, 2)).toEqual([...SYNC]);
    expect(ops.map((o) => o.detail)).toEqual([
      'CMD_TLBI_NH_VA',
      'CMD_CFGI_STE',
      'CMD_SYNC',
      'CMDQ_PROD',
      'CMD_TLBI_NH_VA',
      'CMD_SYNC',
      'CMDQ_PROD',
    ]);
  });
});
