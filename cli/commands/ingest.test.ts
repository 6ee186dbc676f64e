// `invtrace ingest` on real captures and on corrupted copies of them, through the compiled CLI:
// a truncated gzip, a garbled line in the middle and a line with an impossible value give one clear
// line naming file and line (a warning by default, exit 2 with --strict), never a stack trace.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { capture, CLI, cli, cliBuiltins, cliBuiltinsWith, haveCaptures, tempDir } from '../../test/helpers.js';

const dir = tempDir();
let n = 0;
const out = () => join(dir, `o${n++}.arrow`);
const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

/** The lines of a capture, to corrupt. */
const linesOf = (file: string) =>
  gunzipSync(readFileSync(capture(file)))
    .toString('utf8')
    .split('\n');

/** Writes lines (gzip-compressed when the name ends in .gz); returns the path. */
function write(name: string, lines: readonly string[]): string {
  const p = join(dir, name);
  const text = lines.join('\n');
  writeFileSync(p, name.endsWith('.gz') ? gzipSync(text) : text);
  return p;
}

describe.skipIf(!haveCaptures)('invtrace ingest on the captures', () => {
  it('a QEMU+guest pair: summary text, --json, and info --json counts per type (captures README)', () => {
    const o = out();
    const r = cli('ingest', capture('qemu-vtd-scalable-strict.log.gz'), capture('guest-vtd-scalable-strict.txt.gz'), '-o', o);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/vtd trace, 52,144 events from .* \(qemu-log\+ftrace, merged\)/);
    expect(r.stdout).toMatch(/queue: 256 x 32 B at 0x2220000 \(vtd_inv_qi_setup\)/);
    expect(r.stdout).toMatch(
      /agreement: yes: guest qi_submit descriptors \(17,372\) = QEMU non-wait descriptors \(17,381\) - 0 before guest tracing started - 9 after it stopped/,
    );
    expect(r.stdout).toMatch(/QEMU commands of unknown type named by the guest: pc_inv 8, p_iotlb_inv 7/);
    const info = JSON.parse(cli('info', o, '--json').stdout);
    expect(info.by_op).toEqual({ inv_wait: 17381, iotlb_inv: 12165, dev_tlb_inv: 5142, iec_inv: 51, cc_inv: 8, pc_inv: 8, p_iotlb_inv: 7 });
    expect(info.doorbells).toBe(17382);
    const j = JSON.parse(
      cli('ingest', capture('qemu-smmuv3-lazy.log.gz'), capture('guest-smmuv3-lazy.txt.gz'), '-o', out(), '--json').stdout,
    );
    // README: 144 commands consumed; one doorbell per CMDQ_PROD write in the log
    const prodWrites = gunzipSync(readFileSync(capture('qemu-smmuv3-lazy.log.gz')))
      .toString()
      .split('\n')
      .filter((l) => l.includes(':smmuv3_write_mmio addr: 0x98 ')).length;
    expect(j).toMatchObject({
      format: 'qemu-log+ftrace',
      arch: 'smmuv3',
      origin: 'merged',
      commands: 144,
      doorbells: prodWrites,
      agreement: { agree: true, matched: 144 },
    });
  }, 60_000);

  it('forced --format and --arch; mismatched sides are refused', () => {
    expect(cli('ingest', capture('guest-smmuv3-lazy.txt.gz'), '--format', 'ftrace', '--arch', 'smmuv3', '-o', out()).code).toBe(0);
    const r = cli('ingest', capture('qemu-vtd-legacy-lazy.log.gz'), capture('guest-smmuv3-lazy.txt.gz'), '-o', out());
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^invtrace: .*qemu-vtd-legacy-lazy.log.gz is vtd but .*guest-smmuv3-lazy.txt.gz is smmuv3$/);
    const two = cli('ingest', capture('qemu-vtd-legacy-lazy.log.gz'), capture('qemu-vtd-legacy-lazy.log.gz'), '-o', out());
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/one QEMU log, one guest trace, or one of each/);
  }, 30_000);
});

// The ingest command writes its Arrow file with formats/arrow/ipc-file-sink.ts: the modules it
// loads (NODE_DEBUG=module lists them: the bundle is CommonJS) do not include the bundle's apache-arrow chunk, which `info` on
// the same output does load.
describe.skipIf(!haveCaptures)('modules the ingest command loads', () => {
  const loaded = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'module' } });
    expect(r.status).toBe(0);
    return new Set([...r.stderr.matchAll(/dist\/bin\/([\w.-]+\.js)/g)].map((m) => m[1]!));
  };
  const arrow = (files: Set<string>) => [...files].filter((f) => /^apache-arrow-/.test(f));

  it('no apache-arrow for a QEMU log of either architecture; info on the output loads it', () => {
    for (const input of ['qemu-vtd-scalable-strict.log.gz', 'qemu-smmuv3-lazy.log.gz']) {
      const o = out();
      const files = loaded('ingest', capture(input), '-o', o);
      expect(files.size).toBeGreaterThan(5); // the debug output named the bundle's chunks
      expect(arrow(files)).toEqual([]);
      expect(arrow(loaded('info', o))).toHaveLength(1);
    }
  }, 60_000);

  it('a plain QEMU log loads neither zlib nor child_process (formats/lines.ts, rolldown.config.js); gzip loads zlib', () => {
    const builtins = (...args: string[]) => cliBuiltins(...args).filter((m) => /^NativeModule (zlib|child_process)$/.test(m));
    const plain = write('plain.log', linesOf('qemu-vtd-scalable-strict.log.gz'));
    expect(builtins('ingest', plain, '-o', out(), '--json')).toEqual([]);
    expect(builtins('ingest', capture('qemu-vtd-scalable-strict.log.gz'), '-o', out(), '--json')).toEqual(['NativeModule zlib']);
  }, 60_000);

  it('a plain ingest writing to a pipe makes no stream: neither stream nor net loads (cli/stdio.ts, rolldown.config.js fsPlain)', () => {
    const streams = (stdout: 'pipe' | 'ignore', ...args: string[]) =>
      cliBuiltinsWith({ stdout }, ...args).filter((m) => /^NativeModule (stream|net)$/.test(m));
    const plain = write('plain-streams.log', linesOf('qemu-vtd-scalable-strict.log.gz'));
    // The summary (--json on stdout, or the line on stderr) goes through write(2).
    expect(streams('pipe', 'ingest', plain, '-o', out(), '--json')).toEqual([]);
    expect(streams('pipe', 'ingest', plain, '-o', out())).toEqual([]);
    // stdout /dev/null, a character device: node's stream writes there (and would ask a terminal's width).
    expect(streams('ignore', 'ingest', plain, '-o', out(), '--json')).toContain('NativeModule stream');
  }, 60_000);
});

describe.skipIf(!haveCaptures)('corrupted copies', () => {
  it('a truncated gzip: exit 2, one line with file and line, no output', () => {
    const gz = readFileSync(capture('qemu-vtd-legacy-lazy.log.gz'));
    const p = join(dir, 'truncated.log.gz');
    writeFileSync(p, gz.subarray(0, Math.floor(gz.length / 2)));
    const o = out();
    const r = cli('ingest', p, '-o', o);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^invtrace: .*truncated.log.gz:\d+: truncated gzip stream after line \d+$/);
    noStack(r.stderr);
    expect(existsSync(o)).toBe(false);
  });

  it('garbled lines in the middle: counted and named in a warning; with --strict exit 2 at the first', () => {
    const lines = linesOf('qemu-vtd-legacy-lazy.log.gz');
    const i = lines.findIndex((l, k) => k > 100 && l.includes(':vtd_inv_desc invalidate desc type iotlb'));
    lines[i] = lines[i]!.replace('desc type', 'desc tyXXpe');
    lines.splice(i + 40, 0, '\u0000\u0007#@!garbage');
    lines.splice(i + 60, 0, '16072@1795239943.536861:vtd_brand_new_event something');
    const p = write('garbled.log.gz', lines);
    const r = cli('ingest', p, '-o', out(), '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.skipped).toEqual({ malformed_lines: 2, unknown_events: { vtd_brand_new_event: 1 } });
    expect(s.warnings[0]).toMatch(
      new RegExp(`garbled.log.gz:${i + 1}: vtd_inv_desc: expected "invalidate desc type <type> high 0x<hi> low 0x<lo>"$`),
    );
    expect(s.warnings[1]).toMatch(new RegExp(`garbled.log.gz:${i + 41}: not a QEMU trace line$`));
    // the descriptor whose line was garbled is still there, of unknown type
    expect(s.by_op).toMatchObject({ iotlb_inv: 45, '(unknown)': 1 });
    const text = cli('ingest', p, '-o', out()).stdout;
    expect(text).toMatch(/skipped: 2 malformed lines; unknown events: vtd_brand_new_event 1/);
    expect(text).toMatch(/warning: .*garbled.log.gz:\d+: vtd_inv_desc: expected/);
    const strict = cli('ingest', p, '-o', out(), '--strict');
    expect(strict.code).toBe(2);
    expect(strict.stderr.trim()).toMatch(new RegExp(`^invtrace: .*garbled.log.gz:${i + 1}: vtd_inv_desc: expected "invalidate desc type`));
    noStack(strict.stderr);
  }, 30_000);

  it.each([
    [
      'qemu-vtd-legacy-lazy.log.gz',
      /:vtd_inv_qi_head read head \d+$/,
      (l: string) => l.replace(/head \d+$/, 'head 4096'),
      /vtd_inv_qi_head: head 4096 is outside a queue of 256 entries/,
    ],
    [
      'qemu-smmuv3-lazy.log.gz',
      /:smmuv3_cmdq_consume prod=/,
      (l: string) => l.replace(/cons=\d+/, 'cons=70000'),
      /smmuv3_cmdq_consume: prod \d+\/0 cons 70000\/0 is outside a queue of 65536 entries/,
    ],
    [
      'qemu-smmuv3-lazy.log.gz',
      /:smmuv3_s1_range_inval|:smmuv3_cmdq_tlbi_nh_asid asid=/,
      (l: string) => l.replace(/asid=1$/, 'asid=70000'),
      /CMD_TLBI_NH_ASID: ASID: 0x11170 does not fit in 16 bits/,
    ],
    [
      'guest-vtd-legacy-lazy.txt.gz',
      /qi_submit: iotlb_inv/,
      (l: string) => l.replace(/iotlb_inv dmar0: 0x\w+/, 'iotlb_inv dmar0: 0x600f3'),
      /qi_submit: type name iotlb_inv does not match qw0\[3:0\] = 3/,
    ],
    ['guest-smmuv3-lazy.txt.gz', /cmdlist: /, (l: string) => l.replace(/ sync=1/, ' sync=7'), /cmdlist: missing or bad sync=/],
  ])(
    '%s with an impossible value: a warning naming the line; --strict: exit 2',
    (file, pick, spoil, message) => {
      const lines = linesOf(file);
      const i = lines.findIndex((l, k) => k > 20 && pick.test(l));
      lines[i] = spoil(lines[i]!);
      const p = write(`impossible-${n++}-${file}`, lines);
      const r = cli('ingest', p, '-o', out(), '--json');
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s.skipped.malformed_lines).toBe(1);
      expect(s.warnings).toHaveLength(1);
      expect(s.warnings[0]).toMatch(new RegExp(`:${i + 1}: `));
      expect(s.warnings[0]).toMatch(message);
      const strict = cli('ingest', p, '-o', out(), '--strict');
      expect(strict.code).toBe(2);
      expect(strict.stderr.trim()).toMatch(new RegExp(`^invtrace: [^\\n]*:${i + 1}: [^\\n]*$`));
      noStack(strict.stderr);
    },
    30_000,
  );

  it('a guest side that disagrees with QEMU: the first diverging position is reported', () => {
    const lines = linesOf('guest-vtd-legacy-lazy.txt.gz');
    const i = lines.findIndex((l) => l.includes('qi_submit: iotlb_inv dmar0: 0x600e2'));
    lines[i] = lines[i]!.replace('0x600e2', '0x700e2'); // another domain
    const p = write('guest-disagree.txt', lines);
    const r = cli('ingest', capture('qemu-vtd-legacy-lazy.log.gz'), p, '-o', out());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/agreement: NO/);
    expect(r.stdout).toMatch(
      new RegExp(
        `first divergence after \\d+ matched commands \\(.*qemu-vtd-legacy-lazy.log.gz:\\d+ slot \\d+; .*guest-disagree.txt:${i + 1}\\): QEMU has iotlb_inv 0x600e2 0x0, the guest iotlb_inv 0x700e2 0x0`,
      ),
    );
    expect(r.stdout).toMatch(/warning: the two sides disagree/);
  }, 30_000);

  it('a console without its trace markers is refused; a dump cut short is a warning', () => {
    // the console files of the captures keep the two markers with nothing between them
    const con = readFileSync(capture('console-smmuv3-lazy.txt'), 'utf8');
    const empty = cli('ingest', capture('console-smmuv3-lazy.txt'), '-o', out());
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim()).toMatch(/console-smmuv3-lazy.txt: nothing between the trace markers: the console holds no guest trace$/);
    const kernelLog = con.split('\n').filter((l) => !l.startsWith('@@@@'));
    const r = cli('ingest', write('console-only.txt', kernelLog), '-o', out());
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/console-only.txt: no "@@@@ BEGIN GUEST TRACE" line: the console holds no guest trace$/);
    const trace = linesOf('guest-smmuv3-lazy.txt.gz').slice(0, 3000);
    const cut = cli('ingest', write('console-cut.txt', [...kernelLog, '@@@@ BEGIN GUEST TRACE', ...trace]), '-o', out());
    expect(cut.code).toBe(0);
    expect(cut.stdout).toMatch(/warning: .*console-cut.txt: no "@@@@ END GUEST TRACE" line: the trace dump may be cut short/);
  }, 30_000);
});

// A signal while the output is written (formats/atomic.ts removeTempsOnSignal): the process still
// ends by that signal, and no temporary file stays beside the output. The log (the scalable-strict
// capture 4 times, ~44 MB, read into reused buffers, the event loop turning at every 1 MiB block)
// takes long enough to be interrupted midway.
describe.skipIf(!haveCaptures)('a signal while ingesting', () => {
  const big = join(dir, 'signal.log');
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s: ends the process by it and leaves no temporary file',
    async (signal) => {
      if (!existsSync(big)) {
        const text = gunzipSync(readFileSync(capture('qemu-vtd-scalable-strict.log.gz')));
        writeFileSync(big, Buffer.concat([text, text, text, text]));
      }
      const where = join(dir, `signal-${signal}`);
      mkdirSync(where);
      const child = spawn(process.execPath, [CLI, 'ingest', big, '-o', join(where, 'out.arrow')], { stdio: 'ignore' });
      const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
      // once the temporary output exists (the rows are being written), the signal
      let sent = false;
      for (let i = 0; i < 2000 && !sent && child.exitCode === null; i++) {
        if (readdirSync(where).some((f) => f.endsWith('.tmp'))) sent = child.kill(signal);
        else await new Promise((r) => setTimeout(r, 5));
      }
      expect(sent).toBe(true);
      expect(await ended).toBe(signal);
      expect(readdirSync(where)).toEqual([]);
    },
    60_000,
  );
});
