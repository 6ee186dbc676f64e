// Aligning the two sides of a run: a guest side with a command missing, one too many, or from
// another run is reported with its first diverging position, the rest re-synchronised (never
// hidden); the merged words take every bit either side knows.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures, tempDir } from '../../test/helpers.js';
import { openTrace } from '../trace/io.js';
import { traceInfo } from '../trace/info.js';
import type { CmdEvent } from '../capture/events.js';
import { mergeCommand, sameCommand } from './align.js';
import { ingest } from './ingest.js';

const dir = tempDir();
let n = 0;

const cmd = (words: bigint[], known?: [bigint, bigint]): CmdEvent => ({
  kind: 'cmd',
  slot: 3,
  wrap: 1,
  words,
  at: { file: 'f', line: 1 },
  ...(known ? { known } : {}),
});

describe('sameCommand / mergeCommand', () => {
  it('compare the bits both sides know and merge what either knows', () => {
    const qemuSync = { ...cmd([0x46n, 0n], [0xffn, 0n]), ts_ns: 5n, cpu: 16202 };
    const guestSync = { ...cmd([0x46n, 0n], [0xffn, 0n]), cpu: 1, inferred: true };
    expect(sameCommand(qemuSync, guestSync)).toBe(true);
    expect(mergeCommand(qemuSync, guestSync)).toMatchObject({
      slot: 3,
      wrap: 1,
      words: [0x46n, 0n],
      known: [0xffn, 0n],
      ts_ns: 5n,
      cpu: 1,
      origin: 'merged',
    });
    // a QEMU descriptor of unknown type takes the guest's four qwords
    const unknown = cmd([0n, 0n], [0n, 0n]);
    const pc = cmd([0x20017n, 0n, 0n, 0n]);
    expect(sameCommand(unknown, pc)).toBe(true);
    const m = mergeCommand(unknown, pc);
    expect(m.words).toEqual([0x20017n, 0n, 0n, 0n]);
    expect(m.known).toBeUndefined();
    expect(sameCommand(cmd([0x600f2n, 0xffff8000n]), cmd([0x600f2n, 0xffff9000n]))).toBe(false);
  });
});

const guestLines = (file: string) =>
  gunzipSync(readFileSync(capture(file)))
    .toString('utf8')
    .split('\n');

describe.skipIf(!haveCaptures)('a guest side that does not match QEMU', () => {
  const qemu = capture('qemu-vtd-legacy-lazy.log.gz');
  const qi = (lines: string[]) =>
    lines
      .map((l, i) => [l, i] as const)
      .filter(([l]) => l.includes('qi_submit:'))
      .map(([, i]) => i);

  it('a descriptor missing from the guest: one divergence at its position, then in step again', async () => {
    const lines = guestLines('guest-vtd-legacy-lazy.txt.gz');
    const k = qi(lines)[60]!;
    const gone = lines[k]!;
    lines.splice(k, 1);
    const g = join(dir, `g${n++}.txt`);
    writeFileSync(g, lines.join('\n'));
    const o = join(dir, `o${n++}.arrow`);
    const s = await ingest([qemu, g], { output: o });
    const a = s.agreement!;
    expect(a).toMatchObject({ agree: false, matched: 118, qemu_unmatched: 1, guest_unmatched: 0, divergences: 1, qemu_after_guest: 9 });
    expect(a.first_divergence).toMatchObject({ after_matched: 60, guest: { file: g, line: k + 1 } });
    expect(a.first_divergence!.message).toContain(gone.split('dmar0: ')[1]!.split(' ').slice(0, 2).join(' '));
    // QEMU's side is whole: every descriptor it saw is in the trace
    expect((await traceInfo(await openTrace(o))).commands).toBe(256);
    expect(s.warnings.at(-1)).toMatch(/^the two sides disagree: QEMU has /);
  }, 30_000);

  it('a descriptor the guest has twice: counted as a guest command without a counterpart', async () => {
    const lines = guestLines('guest-vtd-legacy-lazy.txt.gz');
    const k = qi(lines)[30]!;
    lines.splice(
      k,
      0,
      lines[k]!.replace(/(\d+\.\d{6}):/, (_, t: string) => `${(Number(t) - 1e-6).toFixed(6)}:`),
    );
    const g = join(dir, `g${n++}.txt`);
    writeFileSync(g, lines.join('\n'));
    const s = await ingest([qemu, g], { output: join(dir, `o${n++}.arrow`) });
    expect(s.agreement).toMatchObject({ agree: false, matched: 119, qemu_unmatched: 0, guest_unmatched: 1, divergences: 1 });
  }, 30_000);

  it('the guest side of another run: reported, not hidden', async () => {
    const s = await ingest([qemu, capture('guest-vtd-legacy-strict.txt.gz')], { output: join(dir, `o${n++}.arrow`) });
    const a = s.agreement!;
    expect(a.agree).toBe(false);
    expect(a.first_divergence).not.toBeNull();
    expect(a.qemu_unmatched + a.guest_unmatched).toBeGreaterThan(0);
    expect(s.warnings.some((w) => w.startsWith('the two sides disagree'))).toBe(true);
  }, 30_000);
});
