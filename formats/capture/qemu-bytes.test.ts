// The byte scanner is a fast path of the text parser, never a second grammar: on every line of the
// bundled QEMU logs (and the same lines with the ISO-8601 prefix, with none, and respelled: other
// spacing, upper-case hex, long numbers, tabs, stray bytes, cut short) it either answers FALLBACK or
// exactly what qemu-log.ts + the event table parse from the text (same fields in the same order,
// same thread id and time).
import { readFileSync } from 'node:fs';
import { inspect, isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures } from '../../test/helpers.js';
import { FALLBACK, QemuByteScanner } from './qemu-bytes.js';
import { parseQemuLogLine } from './qemu-log.js';
import { parseSmmuv3Event, SMMUV3_EVENTS } from './qemu-smmuv3.js';
import { parseVtdEvent, VTD_EVENTS } from './qemu-vtd.js';

const LOGS = ['vtd-legacy-strict', 'vtd-legacy-lazy', 'vtd-scalable-strict', 'smmuv3-strict', 'smmuv3-lazy'];

/**
 * Scans one line given as text and compares with the text parser: 'fast' (same event, same fields in
 * the same order, same thread and time), 'fallback', or what differs.
 */
function check(scanner: QemuByteScanner, parse: typeof parseVtdEvent | typeof parseSmmuv3Event, text: string): string {
  const buf = Buffer.from(`${text}\n`, 'utf8');
  const fast = scanner.scan(buf, 0, buf.length - 1);
  if (fast === FALLBACK) return 'fallback';
  const l = parseQemuLogLine(text);
  if (l === undefined) return `${text}: the text parser says it is not a trace line`;
  const slow = parse(l) as Record<string, unknown>;
  const same =
    isDeepStrictEqual(fast, slow) &&
    isDeepStrictEqual(Object.keys(fast), Object.keys(slow)) &&
    scanner.line.tid === l.tid &&
    scanner.line.ts_ns === l.ts_ns;
  return same
    ? 'fast'
    : `${text}: fast ${inspect(fast)} tid ${scanner.line.tid} ts ${scanner.line.ts_ns}, text ${inspect(slow)} tid ${l.tid} ts ${l.ts_ns}`;
}

const respell: readonly ((l: string) => string)[] = [
  (l) => l.replace(/ /g, '  '),
  (l) => l.replace(/=/g, ' = '),
  (l) => l.replace(/0x([0-9a-f]+)/g, (_, h: string) => `0x${h.toUpperCase()}`),
  (l) => l.replace(/0x([0-9a-f]+)/g, (_, h: string) => `0x${h.padStart(17, '0')}`),
  (l) => l.replace(/0x([0-9a-f]+)/g, (_, h: string) => `0x${h.padStart(15, '0')}`),
  (l) => l.replace(/ (\d+)$/, (_, d: string) => ` ${d.padStart(16, '0')}`),
  (l) => `${l} \t `,
  (l) => l.replace(/ /, '\t'),
  (l) => l.replace(/ (\S+)$/, ' \r$1'),
  (l) => l.replace(/ (\S+)$/, ' \u00e9$1'),
  (l) => l.slice(0, Math.floor(l.length * 0.8)),
  (l) => l.replace(/:(\w+)/, ':$1_x'),
  (l) => l.replace(/^(\d+)@(\d+)\.(\d+):/, (_, t: string, s: string, us: string) => `${t}@${s}.${us}123:`),
  (l) => l.replace(/^\d+@(\d+)\.(\d+):/, (_, s: string, us: string) => `${new Date(Number(s) * 1000).toISOString().slice(0, 19)}.${us}Z `),
  (l) => l.replace(/^\d+@\d+\.\d+:/, '2025-13-01T00:00:00.1Z '),
  (l) => l.replace(/^\d+@\d+\.\d+:/, '2025-02-30T24:00:00Z '),
  (l) => l.replace(/^\d+@\d+\.\d+:/, ''),
];

describe.skipIf(!haveCaptures)('QEMU byte scanner = text parser', () => {
  it.each(LOGS)(
    'qemu-%s.log: every line, and a line of each event respelled',
    (run) => {
      const vtd = run.startsWith('vtd');
      const scanner = new QemuByteScanner(vtd ? VTD_EVENTS : SMMUV3_EVENTS);
      const parse = vtd ? parseVtdEvent : parseSmmuv3Event;
      const lines = gunzipSync(readFileSync(capture(`qemu-${run}.log.gz`)))
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '');
      const wrong: string[] = [];
      const fellBack = new Set<string>();
      for (const l of lines) {
        const r = check(scanner, parse, l);
        if (r === 'fallback') fellBack.add(parseQemuLogLine(l)!.event);
        else if (r !== 'fast') wrong.push(r);
      }
      expect(wrong).toEqual([]);
      // Only two events of these logs leave the fast path: vtd_iotlb_reset has free text
      // ("reason: ..."), and QEMU 7.2 prints "streamid= 0x8", not the canonical "streamid=0x8".
      expect([...fellBack].filter((e) => e !== 'vtd_iotlb_reset' && e !== 'smmuv3_cmdq_cfgi_ste')).toEqual([]);
      const byEvent = new Map<string, string>();
      for (const l of lines) byEvent.set(parseQemuLogLine(l)!.event, l);
      for (const l of byEvent.values()) {
        for (const f of respell) {
          const r = check(scanner, parse, f(l));
          if (r !== 'fast' && r !== 'fallback') wrong.push(r);
        }
      }
      expect(wrong).toEqual([]);
    },
    60_000,
  );

  it('a spelling the fast path cannot decide goes to the text path, which words the error', () => {
    const scanner = new QemuByteScanner(VTD_EVENTS);
    const at = (t: string) => {
      const b = Buffer.from(t);
      return scanner.scan(b, 0, b.length);
    };
    expect(at('1@2.3:vtd_inv_qi_head read head 7')).toEqual({ head: 7, event: 'vtd_inv_qi_head' });
    expect(at('1@2.3:vtd_inv_qi_head read  head 7')).toBe(FALLBACK); // the text parser accepts it
    expect(parseVtdEvent(parseQemuLogLine('1@2.3:vtd_inv_qi_head read  head 7')!)).toEqual({ head: 7, event: 'vtd_inv_qi_head' });
    expect(at('1@2.3:vtd_inv_qi_head read head x')).toBe(FALLBACK); // the text parser reports it
    expect(parseVtdEvent(parseQemuLogLine('1@2.3:vtd_inv_qi_head read head x')!)).toEqual({
      event: 'vtd_inv_qi_head',
      error: 'expected "read head <head>"',
    });
    expect(at('1@2.3:vtd_brand_new read head 7')).toBe(FALLBACK); // unknown events are counted by the text path
  });
});
