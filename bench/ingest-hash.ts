// `npm run ingest:hash`: the before/after check of ingest speed work (issue 17). Ingests every bundled
// capture through the compiled CLI (each file alone and each QEMU+guest pair), every input shape
// derived from them (plain and gzip, the three QEMU line prefixes, consoles holding the guest trace,
// CRLF line ends, no final newline, JSONL scenarios), a few damaged copies (truncated gzip, a
// garbled line, an impossible value, with and without --strict) and a trace of several record
// batches, then prints one line per case:
// exit code, sha256 of the .arrow written and of stdout (the --json summary), and stderr verbatim.
//
//   npm run ingest:hash                 prints the table
//   npm run ingest:hash -- --check      compares it with bench/ingest-hash.ref.txt (exit 1 on a change)
//   npm run ingest:hash -- --write      rewrites bench/ingest-hash.ref.txt
//
// Inputs are written into a scratch folder and named relative to it (the CLI runs there), so the
// summaries, which name their files, do not depend on where the folder is.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { cliScript } from '../formats/paths.js';
import { isoPrefixed, unprefixed } from '../samples/prefix-styles.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = cliScript();
const CAPTURES = join(ROOT, 'samples/captures');
const SCENARIOS = join(ROOT, 'samples/scenarios');
const REF = join(ROOT, 'bench/ingest-hash.ref.txt');
const RUNS = ['vtd-legacy-strict', 'vtd-legacy-lazy', 'vtd-scalable-strict', 'smmuv3-strict', 'smmuv3-lazy'] as const;

interface Case {
  readonly name: string;
  readonly args: readonly string[];
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** Builds the derived inputs in `dir`; returns the cases. */
function prepare(dir: string): Case[] {
  const cases: Case[] = [];
  const put = (name: string, data: Buffer | string) => writeFileSync(join(dir, name), data);
  const text = (gz: string) => gunzipSync(readFileSync(join(CAPTURES, gz))).toString('utf8');
  for (const r of RUNS) {
    const q = `qemu-${r}.log.gz`;
    const g = `guest-${r}.txt.gz`;
    copyFileSync(join(CAPTURES, q), join(dir, q));
    copyFileSync(join(CAPTURES, g), join(dir, g));
    cases.push({ name: q, args: [q] }, { name: g, args: [g] }, { name: `${q} + ${g}`, args: [q, g] });
    // plain text, and the three QEMU line prefixes (tid@sec.usec:, ISO-8601, none)
    const qt = text(q);
    put(`qemu-${r}.log`, qt);
    cases.push({ name: `qemu-${r}.log (plain)`, args: [`qemu-${r}.log`] });
    const iso = isoPrefixed(qt);
    put(`qemu-${r}.iso.log`, iso);
    cases.push({ name: `qemu-${r}.iso.log (ISO-8601 prefix)`, args: [`qemu-${r}.iso.log`] });
    put(`qemu-${r}.bare.log`, unprefixed(qt));
    cases.push({ name: `qemu-${r}.bare.log (no prefix)`, args: [`qemu-${r}.bare.log`] });
    // a serial console holding the guest trace between the markers (as capture.sh records it)
    const con = readFileSync(join(CAPTURES, `console-${r}.txt`), 'utf8')
      .replace(/\n$/, '')
      .split('\n')
      .filter((l) => !l.startsWith('@@@@'))
      .join('\n');
    const gt = text(g);
    put(
      `console-${r}.txt`,
      `${con}\r\n@@@@ BEGIN GUEST TRACE\r\n${gt.replace(/\n/g, '\r\n')}@@@@ END GUEST TRACE\r\n[    6.000000] reboot: Power down\r\n`,
    );
    cases.push(
      { name: `console-${r}.txt`, args: [`console-${r}.txt`] },
      { name: `${q} + console-${r}.txt`, args: [q, `console-${r}.txt`] },
    );
    // the guest trace as plain ftrace text with no final newline
    put(`guest-${r}.nonl.txt`, gt.replace(/\n+$/, ''));
    cases.push({ name: `guest-${r}.nonl.txt (no final newline)`, args: [`guest-${r}.nonl.txt`] });
  }
  for (const f of readdirSync(SCENARIOS)
    .filter((x) => x.endsWith('.jsonl'))
    .sort()) {
    copyFileSync(join(SCENARIOS, f), join(dir, f));
    cases.push({ name: f, args: [f] });
  }
  // Damaged copies (cli/commands/ingest.test.ts): the messages must stay the same.
  const lazy = readFileSync(join(CAPTURES, 'qemu-vtd-legacy-lazy.log.gz'));
  put('truncated.log.gz', lazy.subarray(0, Math.floor(lazy.length / 2)));
  cases.push({ name: 'truncated gzip', args: ['truncated.log.gz'] });
  const lines = text('qemu-vtd-legacy-lazy.log.gz').split('\n');
  const i = lines.findIndex((l, k) => k > 100 && l.includes(':vtd_inv_desc invalidate desc type iotlb'));
  lines[i] = lines[i]!.replace('desc type', 'desc tyXXpe');
  lines.splice(i + 40, 0, '\u0000\u0007#@!garbage');
  lines.splice(i + 60, 0, '16072@1795239943.536861:vtd_brand_new_event something');
  put('garbled.log.gz', gzipSync(lines.join('\n')));
  cases.push({ name: 'garbled lines', args: ['garbled.log.gz'] }, { name: 'garbled lines --strict', args: ['garbled.log.gz', '--strict'] });
  const spoil = (file: string, pick: RegExp, f: (l: string) => string, name: string) => {
    const ls = text(file).split('\n');
    const k = ls.findIndex((l, j) => j > 20 && pick.test(l));
    ls[k] = f(ls[k]!);
    put(name, ls.join('\n'));
    cases.push(
      { name: `impossible value: ${name}`, args: [name] },
      { name: `impossible value: ${name} --strict`, args: [name, '--strict'] },
    );
  };
  spoil('qemu-vtd-legacy-lazy.log.gz', /:vtd_inv_qi_head read head \d+$/, (l) => l.replace(/head \d+$/, 'head 4096'), 'bad-head.log');
  spoil('qemu-smmuv3-lazy.log.gz', /:smmuv3_cmdq_consume prod=/, (l) => l.replace(/cons=\d+/, 'cons=70000'), 'bad-cons.log');
  spoil('qemu-smmuv3-lazy.log.gz', /:smmuv3_cmdq_tlbi_nh_asid asid=/, (l) => l.replace(/asid=1$/, 'asid=70000'), 'bad-asid.log');
  spoil(
    'guest-vtd-legacy-lazy.txt.gz',
    /qi_submit: iotlb_inv/,
    (l) => l.replace(/iotlb_inv dmar0: 0x\w+/, 'iotlb_inv dmar0: 0x600f3'),
    'bad-qi.txt',
  );
  spoil('guest-smmuv3-lazy.txt.gz', /cmdlist: /, (l) => l.replace(/ sync=1/, ' sync=7'), 'bad-sync.txt');
  put('empty.log', '');
  cases.push({ name: 'empty file', args: ['empty.log'] });
  // Several record batches (65,536 rows each): 3 copies of the largest VT-d capture, 156,432 rows
  // (3 x 52,144), so that columns reused from batch to batch are covered too.
  put('qemu-vtd-scalable-strict.x3.log', text('qemu-vtd-scalable-strict.log.gz').repeat(3));
  cases.push({ name: 'qemu-vtd-scalable-strict.log x 3 (3 record batches)', args: ['qemu-vtd-scalable-strict.x3.log'] });
  return cases;
}

function run(dir: string, c: Case): string {
  const out = join(dir, 'out.arrow');
  rmSync(out, { force: true });
  const r = spawnSync(process.execPath, [CLI, 'ingest', ...c.args, '-o', 'out.arrow', '--json'], { cwd: dir, maxBuffer: 1 << 28 });
  const arrow = existsSync(out) ? sha(readFileSync(out)) : '-'.repeat(16);
  const stderr = r.stderr.toString('utf8').trim().replace(/\n/g, ' | ');
  return `${c.name.padEnd(62)} exit ${r.status}  arrow ${arrow}  json ${sha(r.stdout)}${stderr ? `  stderr: ${stderr}` : ''}`;
}

const mode = process.argv[2];
const dir = mkdtempSync(join(tmpdir(), 'invtrace-ingest-hash-'));
try {
  const t0 = Date.now();
  const table = prepare(dir).map((c) => {
    const line = run(dir, c);
    if (mode === undefined) console.log(line);
    return line;
  });
  const body = `${table.join('\n')}\n`;
  console.error(`${table.length} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (mode === '--write') {
    writeFileSync(REF, body);
    console.error(`wrote ${REF}`);
  } else if (mode === '--check') {
    const ref = readFileSync(REF, 'utf8').split('\n');
    const diff = table.filter((l, k) => l !== ref[k]);
    if (diff.length === 0 && ref.length === table.length + 1) console.log(`identical: ${table.length} cases match ${REF}`);
    else {
      for (const l of table) if (!ref.includes(l)) console.log(`changed: ${l}`);
      for (const l of ref) if (l && !table.includes(l)) console.log(`reference: ${l}`);
      process.exitCode = 1;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
