// The byte scanner is a fast path of the text parser, never a second grammar: on every line of the
// bundled QEMU logs (and the same lines with the ISO-8601 prefix, with none, and respelled: other
// spacing, upper-case hex, long numbers, tabs, stray bytes, cut short) it either answers FALLBACK or
// exactly what qemu-log.ts + the event table parse from the text (same fields in the same order,
// same thread id and time).
import { readFileSync } from 'node:fs';
import { inspect, isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isoPrefixed, unprefixed } from '../../samples/prefix-styles.js';
import { capture, haveCaptures } from '../../test/helpers.js';
import { FALLBACK, FALLBACK_CODE, QemuByteScanner, ScannedLine } from './qemu-bytes.js';
import { event, formats } from './qemu-format.js';
import { parseQemuLogLine } from './qemu-log.js';
import { parseSmmuv3Event, SMMUV3_EVENTS } from './qemu-smmuv3.js';
import { parseVtdEvent, VTD_EVENTS } from './qemu-vtd.js';
import { Stamp } from './stamp.js';

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
  isoPrefixed,
  (l) => l.replace(/^\d+@\d+\.\d+:/, '2025-13-01T00:00:00.1Z '),
  (l) => l.replace(/^\d+@\d+\.\d+:/, '2025-02-30T24:00:00Z '),
  unprefixed,
];

describe("a scanned line's time as halves", () => {
  it("carries into the high half when the second's low half and the ns pass 2^32", () => {
    // tid@sec.usec times of a day in December 2026: whole seconds x 10^9 + ns, mod 2^64, against
    // BigInt. Among 40 seconds some have a low half within 10^9 of 2^32 (10^9 / 2^32 of them, ~23%):
    // their last ns carry, their first do not.
    const line = new ScannedLine();
    const stamp = new Stamp();
    let carries = 0;
    let wrong = '';
    for (let whole = 1_796_600_000; whole < 1_796_600_040; whole++) {
      for (const ns of [0, 1, 999_999_999]) {
        line.set(7, whole, 1_000_000_000n, ns, true);
        line.stamp(stamp);
        const t = BigInt.asUintN(64, BigInt(whole) * 1_000_000_000n + BigInt(ns));
        if (((BigInt(whole) * 1_000_000_000n) & 0xffffffffn) + BigInt(ns) >= 1n << 32n) carries++;
        if (stamp.hi !== Number(t >> 32n) || stamp.lo !== Number(t & 0xffffffffn)) wrong ||= `${whole}.${ns}: ${stamp.hi}:${stamp.lo}`;
      }
    }
    expect(carries).toBeGreaterThan(0);
    expect(wrong).toBe('');
  });
});

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

  it('the remembered `tid@sec.` and the guessed next name decide nothing the text parser would not', () => {
    // Each line after one it learnt from: the prefix up to the '.' as the line before (same bytes,
    // or bytes that differ only in the tid, the seconds or the '.'), and the name that followed the
    // same event before (vtd_inv_qi_head, then vtd_inv_desc) at the start of a longer name, followed
    // by a tab, by nothing, or right.
    const scanner = new QemuByteScanner(VTD_EVENTS);
    const head = (prefix: string) => `${prefix}vtd_inv_qi_head read head 1`;
    const desc = (prefix: string, name = 'vtd_inv_desc') => `${prefix}${name} invalidate desc type wait high 0x1 low 0x2`;
    const lines = [
      head('12@345.6:'),
      desc('12@345.7:'), // same prefix, the guess is not known yet
      head('12@345.123456:'),
      desc('12@3456.8:'), // the seconds run on where the '.' was
      head('13@345.6:'), // another tid
      desc('12@345.6:'),
      head('120@345.6:'),
      `120@345.6:vtd_inv_desc_wait_sw wait invalidate status write addr 0x1046004 data 0x2`, // the guess, then '_'
      head('2025-07-21T18:43:28.089797Z '),
      desc('2025-07-21T18:43:28.089797Z '),
      head('12@345.9:'),
      `12@345.9:vtd_inv_desc`, // the guess, then nothing: no template fits
      head('12@346.1:'),
      desc('12@346.1:', 'vtd_inv_desc\t'),
      head('1@2.3:'),
      desc('1@2.'), // the remembered prefix, then no time and colon
      head('1@2.3:'),
      desc('1@2.3:'),
    ];
    const got = lines.map((l) => `${check(scanner, parseVtdEvent, l)} ${l}`);
    const want = lines.map((l, i) => `${[11, 13, 15].includes(i) ? 'fallback' : 'fast'} ${l}`);
    expect(got).toEqual(want);
    // ... and the same lines through a scanner that has not seen the ones before them
    expect(lines.map((l) => `${check(new QemuByteScanner(VTD_EVENTS), parseVtdEvent, l)} ${l}`)).toEqual(want);
  });

  it('the prefix, the six fraction digits and the guessed names, compared 4 and 8 bytes at a time, agree with the text parser', () => {
    // After a line that sets the remembered `tid@sec.` (8 to 32 bytes long), its next line with one
    // byte of that prefix changed, at every position; the six fraction digits and the colon with
    // each changed to a byte around the digits' range, or one digit fewer or more; the name guessed
    // (the last follower, or the one before it) with one byte changed at every position.
    const scanner = new QemuByteScanner(VTD_EVENTS);
    const wrong: string[] = [];
    let fast = 0;
    const see = (l: string) => {
      const r = check(scanner, parseVtdEvent, l);
      if (r === 'fast') fast++;
      else if (r !== 'fallback') wrong.push(r);
    };
    const head = 'vtd_inv_qi_head read head 1';
    const swap = (t: string, k: number, c: string) => `${t.slice(0, k)}${c}${t.slice(k + 1)}`;
    for (const [tid, sec] of [
      ['1', '234567'],
      ['12', '345678'],
      ['1234567', '12345678'],
      ['123456789', '1234567'],
      ['1234567', '1234567890123456'],
      ['123456789012345', '1234567890123456'],
    ]) {
      const prefix = `${tid}@${sec}.`;
      for (let k = 0; k < prefix.length; k++) {
        for (const c of ['0', '9', '@', '.', 'x', '/', ':']) {
          see(`${prefix}123456:${head}`);
          see(`${swap(prefix, k, c)}654321:${head}`);
        }
      }
      for (let k = 0; k < 7; k++) {
        for (const c of ['/', '0', '9', ':', ';', 'a', ' ', '\u00e9']) {
          see(`${prefix}123456:${head}`);
          see(`${prefix}${swap('987654:', k, c)}${head}`);
        }
      }
      for (const frac of ['12345', '1234567', '0', '000000', '999999', '123456789']) see(`${prefix}${frac}:${head}`);
    }
    const events = [
      'vtd_inv_qi_head read head 2',
      'vtd_inv_desc invalidate desc type iotlb high 0x0 low 0x200f2',
      'vtd_inv_desc_iotlb_pages iotlb invalidate domain 0xf addr 0x1000 mask 0x0',
      'vtd_inv_qi_head read head 3',
      'vtd_inv_desc invalidate desc type wait high 0x1046004 low 0x200000025',
      'vtd_inv_desc_wait_sw wait invalidate status write addr 0x1046004 data 0x2',
      'vtd_reg_write addr 0x88 size 0x4 value 0x40',
      'vtd_inv_qi_tail write tail 4',
      'vtd_inv_qi_fetch',
    ];
    for (let round = 0; round < 3; round++) {
      for (const ev of events) {
        const name = ev.split(' ')[0]!;
        for (let k = 0; k < name.length; k++) {
          for (const c of ['x', '_', ' ', '0']) {
            // the line before, then this one misspelt (the guess fails), then the line before again
            const i = events.indexOf(ev);
            see(`77@88.000001:${events[(i + events.length - 1) % events.length]!}`);
            see(`77@88.000002:${swap(name, k, c)}${ev.slice(name.length)}`);
          }
        }
        see(`77@88.000003:${ev}`);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(fast).toBeGreaterThan(1000);
  });
});

/**
 * Register mode (`scanCode`, the fields left in R and S) against object mode (`scan`) on the same
 * line: the same decision, the event's code, every field (a 64-bit hex field as its halves, a
 * boolean as 0/1, a field the matched template lacks as NaN), and the stamp's time halves against
 * the BigInt time mod 2^64. '' when they agree.
 */
function compareModes(objects: QemuByteScanner, registers: QemuByteScanner, table: Record<string, unknown>, text: string): string {
  const buf = Buffer.from(`${text}\n`, 'utf8');
  const o = objects.scan(buf, 0, buf.length - 1);
  const code = registers.scanCode(buf, 0, buf.length - 1);
  if (o === FALLBACK) return code === FALLBACK_CODE ? '' : `${text}: objects fall back, registers read code ${code}`;
  const event = o.event as string;
  if (code !== registers.code(event)) return `${text}: code ${code}, object ${event}`;
  const stamp = new Stamp();
  registers.line.stamp(stamp);
  const ts = objects.line.ts_ns;
  const want = ts === undefined ? undefined : BigInt.asUintN(64, ts);
  if ((want === undefined) !== !stamp.timed || (want !== undefined && want !== (BigInt(stamp.hi) << 32n) + BigInt(stamp.lo))) {
    return `${text}: stamp ${stamp.hi}:${stamp.lo}, time ${ts}`;
  }
  if (stamp.tid !== objects.line.tid) return `${text}: tid ${stamp.tid}, ${objects.line.tid}`;
  const spec = table[event] as { parse: { templates?: readonly string[] } };
  for (const m of (spec.parse.templates ?? []).join(' ').matchAll(/\{(\w+):([uixXbs])\}/g)) {
    const [name, kind] = [m[1]!, m[2]!];
    const at = registers.register(event, name);
    const v = o[name];
    const got =
      kind === 's'
        ? registers.S[at]
        : kind === 'X'
          ? Number.isNaN(registers.R[at]!)
            ? undefined
            : (BigInt(registers.R[at]!) << 32n) + BigInt(registers.R[at + 1]!)
          : Number.isNaN(registers.R[at]!)
            ? undefined
            : kind === 'b'
              ? registers.R[at] === 1
              : registers.R[at];
    if (got !== v) return `${text}: ${name} ${inspect(got)} in registers, ${inspect(v)} in the object`;
  }
  return '';
}

describe.skipIf(!haveCaptures)('QEMU byte scanner: register mode = object mode', () => {
  it.each(LOGS)(
    'qemu-%s.log: every line, and a line of each event respelled',
    (run) => {
      const table = run.startsWith('vtd') ? VTD_EVENTS : SMMUV3_EVENTS;
      const objects = new QemuByteScanner(table);
      const registers = new QemuByteScanner(table, () => true, 'registers');
      const lines = gunzipSync(readFileSync(capture(`qemu-${run}.log.gz`)))
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '');
      const wrong: string[] = [];
      let fast = 0;
      for (const l of lines) {
        const r = compareModes(objects, registers, table, l);
        if (r !== '') wrong.push(r);
        else if (objects.line.tid !== undefined) fast++;
      }
      const byEvent = new Map<string, string>();
      for (const l of lines) byEvent.set(parseQemuLogLine(l)!.event, l);
      for (const l of byEvent.values()) {
        for (const f of respell) {
          const r = compareModes(objects, registers, table, f(l));
          if (r !== '') wrong.push(r);
        }
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      // nearly every line took the fast path in both modes (only free-text events and QEMU 7.2's
      // "streamid= 0x8" fall back; the first test counts them)
      expect(fast).toBeGreaterThan(lines.length * 0.9);
    },
    60_000,
  );

  it('hex fields read 4 bytes at a time and type names compared 8 at a time agree with the text parser', () => {
    // Numbers of 1 to 18 hex digits in both cases, with a byte that is not a hex digit (or is one
    // in the other case) at every position; `{type:s}` tokens sharing a first byte, of 1 to 9 bytes,
    // with what follows them changed; each line in both modes and against the text parser.
    const table = VTD_EVENTS as unknown as Record<string, unknown>;
    const objects = new QemuByteScanner(VTD_EVENTS);
    const registers = new QemuByteScanner(VTD_EVENTS, () => true, 'registers');
    const skipping = new QemuByteScanner(VTD_EVENTS, (e) => e === 'vtd_inv_qi_head', 'registers');
    const wrong: string[] = [];
    let fast = 0;
    const see = (l: string) => {
      const r = check(objects, parseVtdEvent, l);
      if (r === 'fast') fast++;
      else if (r !== 'fallback') wrong.push(r);
      const m = compareModes(objects, registers, table, l);
      if (m !== '') wrong.push(m);
      // fields not read: the same lines accepted
      const b = Buffer.from(l);
      if ((skipping.scanCode(b, 0, b.length) === FALLBACK_CODE) !== (r === 'fallback')) wrong.push(`${l}: skipping scanner differs`);
    };
    const digits = '0123456789abcdefABCDEF';
    for (let n = 1; n <= 18; n++) {
      const hex = Array.from({ length: n }, (_, k) => digits[(k * 7 + n) % digits.length]).join('');
      see(`1@2.000001:vtd_inv_desc invalidate desc type iotlb high 0x${hex} low 0x${hex.toLowerCase()}`);
      see(`1@2.000001:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x${hex} addr 0x${hex} mask 0x${hex.slice(0, 2)}`);
      see(`1@2.000001:vtd_inv_desc_wait_sw wait invalidate status write addr 0x${hex} data 0x${hex.toUpperCase()}`);
      for (let k = 0; k < n; k++) {
        for (const c of ['g', 'G', '/', ':', '@', '`', 'F', ' ', '\u00e9', '\u00b0', '\t']) {
          const bad = `${hex.slice(0, k)}${c}${hex.slice(k + 1)}`;
          see(`1@2.000001:vtd_inv_desc invalidate desc type iotlb high 0x${bad} low 0x${hex}`);
          see(`1@2.000001:vtd_inv_desc invalidate desc type iotlb high 0x${hex} low 0x${bad}`);
          see(`1@2.000001:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x${bad} addr 0x1000 mask 0x0`);
          see(`1@2.000001:vtd_reg_write addr 0x${bad} size 0x4 value 0x${hex}`);
        }
      }
    }
    for (const type of [
      'wait',
      'iotlb',
      'iec',
      'i',
      'io',
      'iotlbxx',
      'iotlbxxx',
      'iotlbxxxx',
      'wait',
      'waiting',
      'iotlb',
      'device',
      'dev',
    ]) {
      for (const after of [' high 0x1 low 0x2', '  high 0x1 low 0x2', ' higx 0x1 low 0x2', ' high 0x1', '', ' ', '\thigh 0x1 low 0x2']) {
        see(`1@2.000001:vtd_inv_desc invalidate desc type ${type}${after}`);
        see(`1@2.000001:vtd_inv_desc invalidate desc type ${type} high 0x1 low 0x2`);
      }
    }
    // A field ended by a letter that is not a hex digit ('z': its nibble and 9 overflow 4 bits)
    // within the word read: only the digits before it count.
    const ended = { ev_x: event(formats('v 0x{a:x}z{b:u} w 0x{c:X}z')) };
    const zs = new QemuByteScanner(ended);
    for (const [a, c] of [
      ['2', '2'],
      ['12', '123'],
      ['123', 'abcdef123'],
      ['1234', 'ABCDEF1234'],
      ['12345', '1'],
    ]) {
      const b = Buffer.from(`ev_x v 0x${a}z55 w 0x${c}z55`);
      expect(zs.scan(b, 0, b.length - 2)).toEqual({ a: parseInt(a!, 16), b: 55, c: BigInt(`0x${c}`), event: 'ev_x' });
    }
    // A line whose last field the block's next bytes would go on (hex digits after its end): the
    // field ends with the line, as for a line ended by a newline.
    for (let n = 1; n <= 18; n++) {
      const hex = '123456789abcdef0123'.slice(0, n);
      const line = `1@2.000001:vtd_inv_desc invalidate desc type wait high 0x${hex} low 0x${hex}`;
      for (const next of ['\n', 'abcdef12', '0', 'f\n']) {
        const b = Buffer.from(`${line}${next}`);
        const got = objects.scan(b, 0, line.length);
        const want = n <= 16 ? parseVtdEvent(parseQemuLogLine(line)!) : FALLBACK; // 17 digits: the text path's error
        if (!isDeepStrictEqual(got, want)) wrong.push(`${line} + ${next}: ${inspect(got)}`);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(fast).toBeGreaterThan(100);
  });

  it("an event's matchers are generated on its first line, once", () => {
    const registers = new QemuByteScanner(VTD_EVENTS, () => true, 'registers');
    const objects = new QemuByteScanner(VTD_EVENTS);
    const lines = [
      '1@2.000003:vtd_inv_qi_head read head 7',
      '1@2.000004:vtd_inv_qi_head read head 8',
      '1@2.000005:vtd_inv_desc invalidate desc type wait high 0x1 low 0x2',
      '1@2.000006:vtd_inv_qi_head read head 9',
      '1@2.000007:vtd_inv_desc_cc_invalid hi 0x1 lo 0x2', // its template is free text: nothing to generate
    ];
    const seen = lines.map((l) => {
      expect(compareModes(objects, registers, VTD_EVENTS, l)).toBe('');
      return registers.generated;
    });
    expect([new QemuByteScanner(VTD_EVENTS).generated, ...seen]).toEqual([0, 1, 1, 2, 2, 2]);
  });

  it('fields of the matched template only: one another template has is NaN, not the last value', () => {
    // the first template runs out of input after a number (DEFINITE): the second is tried
    const table = { ab_x: event(formats('a {n:u} b {m:u}', 'a {n:u}')) };
    const two = new QemuByteScanner(table, () => true, 'registers');
    const line = (t: string) => {
      const b = Buffer.from(t);
      return two.scanCode(b, 0, b.length);
    };
    const [n, m] = [two.register('ab_x', 'n'), two.register('ab_x', 'm')];
    expect(line('ab_x a 5 b 6')).toBe(two.code('ab_x'));
    expect([two.R[n], two.R[m]]).toEqual([5, 6]);
    expect(line('ab_x a 7')).toBe(two.code('ab_x'));
    expect(two.R[n]).toBe(7);
    expect(two.R[m]).toBeNaN();
    expect(new QemuByteScanner(table).scan(Buffer.from('ab_x a 7'), 0, 8)).toEqual({ n: 7, event: 'ab_x' });
    const registers = new QemuByteScanner(VTD_EVENTS, () => true, 'registers');
    const at = (t: string) => {
      const b = Buffer.from(t);
      return registers.scanCode(b, 0, b.length);
    };
    // a 64-bit field: high half first
    const hi = registers.register('vtd_inv_desc', 'hi');
    expect(at('1@2.3:vtd_inv_desc invalidate desc type iotlb high 0xfedcba9876543210 low 0x2')).toBe(registers.code('vtd_inv_desc'));
    expect([registers.R[hi], registers.R[hi + 1]]).toEqual([0xfedcba98, 0x76543210]);
    expect(registers.S[registers.register('vtd_inv_desc', 'type')]).toBe('iotlb');
  });
});
