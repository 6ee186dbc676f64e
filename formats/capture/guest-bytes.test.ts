// The guest byte scanner is a fast path of the text parser, never a second grammar: on every line of
// the bundled guest captures (and the same lines respelled: other spacing, tabs, a TGID column,
// upper-case or long hex, a wrong type name, fields out of order, cut short, stray bytes) it either
// answers FALLBACK or exactly what ftrace.ts parses from the text (same pid, cpu, flags, time,
// event, and the same qi_submit words or cmdlist batch).
import { readFileSync } from 'node:fs';
import { inspect, isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { capture, haveCaptures } from '../../test/helpers.js';
import { parseCmdList, parseFtraceLine, parseQiSubmit } from './ftrace.js';
import { FALLBACK, GuestByteScanner } from './guest-bytes.js';

const TRACES = ['vtd-legacy-strict', 'vtd-legacy-lazy', 'vtd-scalable-strict', 'smmuv3-strict', 'smmuv3-lazy'];

/** Scans one line given as text and compares with the text parser: 'fast', 'fallback', or what differs. */
function check(scanner: GuestByteScanner, text: string): string {
  const buf = Buffer.from(`${text}\n`, 'utf8');
  const fast = scanner.usable(buf) ? scanner.scan(buf, 0, buf.length - 1, 7) : FALLBACK;
  if (fast === FALLBACK) return 'fallback';
  const l = parseFtraceLine(text);
  if (l === undefined) return `${text}: the text parser says it is not an ftrace line`;
  const qi = l.event === 'qi_submit' ? parseQiSubmit(l.text) : undefined;
  const cmd = l.event === 'cmdlist' ? parseCmdList(l.text) : undefined;
  const slow = {
    no: 7,
    pid: l.pid,
    cpu: l.cpu,
    flags: l.flags,
    ts: l.ts_ns,
    event: l.event,
    qi: qi === undefined || typeof qi === 'string' ? qi : qi.words,
    cmdlist: cmd,
  };
  const { ftrace: _, words: _w, halves: _h, n: _n, sync: _s, recorded: _r, ...rest } = fast;
  const got = { ...rest, ts: BigInt(fast.ts) } as Record<string, unknown>;
  if (!isDeepStrictEqual(got, slow)) return `${text}: fast ${inspect(got)}, text ${inspect(slow)}`;
  return numeric(buf, slow.qi, slow.cmdlist) ?? 'fast';
}

const NUMERIC = new GuestByteScanner(true);

/**
 * The numeric scanner on the same line: the same prefix and, as 32-bit halves, the same qi_submit
 * words or cmdlist batch (undefined), or what differs.
 */
function numeric(buf: Buffer, qi: unknown, cmdlist: ReturnType<typeof parseCmdList> | undefined): string | undefined {
  NUMERIC.newBlock();
  const r = NUMERIC.scan(buf, 0, buf.length - 1, 7);
  if (r === FALLBACK) return `${buf.toString()}: the numeric scanner falls back`;
  const word = (i: number) => (BigInt(r.halves[2 * i + 1]!) << 32n) | BigInt(r.halves[2 * i]!);
  const words = Array.from({ length: Math.max(r.words, 0) }, (_, i) => word(i));
  if (r.qi !== undefined || r.cmdlist !== undefined) return 'the numeric scanner made BigInts';
  if (Array.isArray(qi)) return isDeepStrictEqual(words, qi) && r.words === 4 ? undefined : `numeric qi ${inspect(words)}`;
  if (cmdlist !== undefined && typeof cmdlist !== 'string') {
    const got = { n: r.n, sync: r.sync, recorded: r.recorded, words };
    const want = { n: cmdlist.n, sync: cmdlist.sync, recorded: cmdlist.recorded, words: cmdlist.cmds.flat() };
    return isDeepStrictEqual(got, want) ? undefined : `numeric cmdlist ${inspect(got)}, text ${inspect(want)}`;
  }
  return r.words === -1 ? undefined : `numeric words ${r.words} on a ${r.event} line`;
}

const respell: readonly ((l: string) => string)[] = [
  (l) => l.replace(/ /g, '  '),
  (l) => l.replace(/: /, ':  '),
  (l) => l.replace(/ (\S+)$/, '\t$1'),
  (l) => l.replace(/\] /, '] (  123) '),
  (l) => l.replace(/0x([0-9a-f]+)/g, (_, h: string) => `0x${h.toUpperCase()}`),
  (l) => l.replace(/0x([0-9a-f]+)/g, (_, h: string) => `0x${h.padStart(16, '0')}`),
  (l) => l.replace(/0x([0-9a-f]+)/g, (_, h: string) => `0x${h.padStart(17, '0')}`),
  (l) => l.replace(/0x([0-9a-f]+)$/, (_, h: string) => `${parseInt(h, 16)}`),
  (l) => l.replace(/qi_submit: \w+/, 'qi_submit: iotlb_inv'),
  (l) => l.replace(/ sync=(\d)/, ' sync=$1 x=1'),
  (l) => l.replace(/ c0_0=(\S+) c0_1=(\S+)/, ' c0_1=$2 c0_0=$1'),
  (l) => l.replace(/ c1_0=/, ' c01_0='),
  (l) => l.replace(/ (\S+)$/, ' \u00e9$1'),
  (l) => l.replace(/ (\S+)$/, ' \r$1'),
  (l) => l.replace(/ (\S+)$/, ' \u2028$1'),
  (l) => l.replace(/^(\s*)/, '$1\u00e9\t'),
  (l) => l.replace(/\] (\S+)/, '] $1\u00e9'),
  (l) => l.slice(0, Math.floor(l.length * 0.8)),
  (l) => l.replace(/(\d+)\.(\d+):/, '$1.$2123:'),
  (l) => l.replace(/(\d+)\.(\d+):/, '9999999.$2:'),
  (l) => l.replace(/-(\d+) /, '-x-$1 '),
  (l) => l.replace(/^(\s*)(\S)/, '$1sys-temd-$2'),
  (l) => l.replace(/ [.a-zA-Z]{5} /, ' '),
  (l) => l.replace(/ (\w+): /, ' $1:x: '),
  (l) => `${l}   `,
];

describe.skipIf(!haveCaptures)('guest byte scanner = text parser', () => {
  it.each(TRACES)('guest-%s: every line and its respellings', (run) => {
    const lines = gunzipSync(readFileSync(capture(`guest-${run}.txt.gz`)))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    const scanner = new GuestByteScanner();
    let fast = 0;
    let respelledFast = 0;
    const wrong: string[] = [];
    for (const l of lines) {
      const r = check(scanner, l);
      if (r === 'fast') fast++;
      else if (r !== 'fallback') wrong.push(r);
      for (const f of respell) {
        const rr = check(scanner, f(l));
        if (rr === 'fast') respelledFast++;
        else if (rr !== 'fallback') wrong.push(rr);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    // Every line of a bundled trace is in the kernel's canonical form: none falls back (the count of
    // event lines is the captures' own, so a scanner that declines everything fails here).
    expect(fast).toBe(lines.length);
    // Respellings the text parser accepts with the same values are read fast too (two spaces
    // after the event's colon keep a cmdlist valid; `   ` at the end; 16 hex digits).
    expect(respelledFast).toBeGreaterThan(0);
  });
});

describe('guest byte scanner declines what is not canonical', () => {
  const s = new GuestByteScanner();
  const ok = '          insmod-101     [001] d.h2.     2.269917: qi_submit: iotlb_inv dmar0: 0x600f2 0xffff8000 0x0 0x0';
  const cl = '       swapper/0-1       [001] dN...     0.600767: cmdlist: (x+0x0/0x72c) n=1 sync=1 c0_0=0x4 c0_1=0x1f c1_0=0xz c1_1=0x1';
  it('reads the canonical lines, with the values of the text parser', () => {
    expect(check(s, ok)).toBe('fast');
    expect(check(s, cl)).toBe('fast');
    expect(check(s, ok.replace('0x600f2', '0xffffffffffff00f2'))).toBe('fast');
  });
  it('falls back on a type name that disagrees with qw0 (the text parser words that error)', () => {
    const bad = ok.replace('0x600f2', '0x600f3');
    expect(check(s, bad)).toBe('fallback');
    expect(parseQiSubmit(parseFtraceLine(bad)!.text)).toMatch(/does not match/);
  });
  it('falls back on a bad word among the first n pairs, not on one past them', () => {
    expect(check(s, cl.replace('n=1', 'n=2'))).toBe('fallback');
    expect(check(s, cl.replace('c0_1=0x1f', 'c0_1='))).toBe('fallback');
  });
  it('refuses a block holding a character that the dot of the text parser refuses (CR, U+2028, U+2029)', () => {
    expect(s.usable(Buffer.from(`${ok}\n`))).toBe(true);
    expect(s.usable(Buffer.from(`${ok}\r\n`))).toBe(false);
    expect(s.usable(Buffer.from(`${ok}\u2029\n`))).toBe(false);
    expect(s.usable(Buffer.from(`\u2028${ok}\n`))).toBe(false);
    expect(parseFtraceLine(`${ok}\u2029`)).toBeUndefined();
  });
  it('given the line ends, keeps a block whose only CRs end CRLF lines (a serial console), not one with a CR inside a line', () => {
    const block = (body: string) => {
      const buf = Buffer.from(body, 'latin1');
      const ends: number[] = [];
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) ends.push(buf[i - 1] === 13 ? i - 1 : i);
      return s.usable(buf, Int32Array.from(ends), ends.length);
    };
    expect(block(`${ok}\r\n${ok}\r\n`)).toBe(true);
    expect(block(`${ok}\n${ok}\r\n`)).toBe(true);
    expect(block(`${ok}\r\r\n`)).toBe(false); // the first CR is in the line
    expect(block(`${ok.replace(' 2.269917:', '\r2.269917:')}\r\n`)).toBe(false);
    expect(block(`${ok}\r\n${ok}\r\nthe next blo\rck`)).toBe(true); // past the last line: in none of them
    expect(block(`${ok}\r\n\r\n${ok}\n`)).toBe(true); // an empty CRLF line
  });
  it('keeps a block whose other E2-led characters the dot takes (U+2027, U+202A, U+2030, U+20AC)', () => {
    // Same lead byte E2 and, but for U+20AC, the same second byte 80: only A8 and A9 third bytes refuse.
    for (const ch of ['\u2027', '\u202a', '\u2030', '\u20ac', '\u2000']) {
      expect(s.usable(Buffer.from(`${ok}${ch}\n`))).toBe(true);
      expect(parseFtraceLine(`${ok}${ch}`)).toBeDefined();
    }
    // A block cut inside the character: E2 80 at its end, the A8 in the next block.
    expect(s.usable(Buffer.from(`${ok}\u2028\n`).subarray(0, ok.length + 2))).toBe(true);
    expect(s.usable(Buffer.from(`${ok}\u2027\u2028\u2030`))).toBe(false);
  });
  it('reads a hex word numerically only where the text parser does (0x and 1..16 hex digits, then a blank or the end)', () => {
    // parseU64's rule (ftrace.ts): `0x`/`0X` and 1 to 16 hex digits. The numeric scanner walks each
    // word once (hexWord), so its ends are checked here on their own: `check` asks the numeric
    // scanner only about lines the text-mode scanner reads.
    const n = new GuestByteScanner(true);
    const numericReads = (line: string) => {
      n.newBlock();
      const buf = Buffer.from(`${line}\n`, 'utf8');
      return n.usable(buf) && n.scan(buf, 0, buf.length - 1, 7) !== FALLBACK;
    };
    const words: [string, boolean][] = [
      ['0x0', true],
      ['0X1F', true],
      ['0xffffffffffffffff', true], // 16 digits
      ['0x1ffffffffffffffff', false], // 17
      ['0x', false],
      ['0x1g', false],
      ['0x1\u00e9', false],
      ['0x1\t', false],
      ['x1', false],
      ['01', false],
    ];
    for (const [w, fast] of words) {
      for (const line of [ok.replace(/0x0$/, w), ok.replace('0xffff8000', w), cl.replace('c0_1=0x1f', `c0_1=${w}`)]) {
        expect([line, numericReads(line)]).toEqual([line, fast]);
        expect(check(s, line)).toBe(fast ? 'fast' : 'fallback');
      }
    }
  });
  it('falls back on a tab, a TGID column, an unsigned task dash or a time beyond 2^53 ns', () => {
    expect(check(s, ok.replace(' [001]', '\t[001]'))).toBe('fallback');
    expect(check(s, ok.replace(' [001]', ' (  101) [001]'))).toBe('fallback');
    expect(check(s, ok.replace('insmod-101', 'ins-mod-101'))).toBe('fast');
    expect(check(s, ok.replace('insmod-101', 'ins-1mod-101'))).toBe('fallback');
    expect(check(s, ok.replace(' 2.269917:', ' 9007198.269917:'))).toBe('fast');
    expect(check(s, ok.replace(' 2.269917:', ' 9007199.269917:'))).toBe('fallback');
  });
});
