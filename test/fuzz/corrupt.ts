// Corrupted copies of the real captures through `invtrace ingest` (issue 12 item 5): truncation,
// bit flips, shuffled, duplicated or deleted lines, binary junk, a 10 MB line, and damage to the
// gzip stream itself. Each copy is ingested by the built CLI in a child process with a time limit.
// The rules:
//   crash    an exit code other than 0, 1 or 2 (3 = internal, a signal, or the time limit: a hang),
//            or a stack trace on stderr
//   report   exit 2 names the file on its one-line error; a kept output (exit 0) whose summary
//            counts malformed lines has a warning naming the file and the line
//   silent   a kept output whose commands differ from what the file holds while the summary shows
//            no warning, no malformed line and nothing inferred: after truncation or deleted
//            lines, a command the intact capture does not have (e.g. an `(unknown)` one); after
//            other damage, other commands than the intact capture's. Reported to ingest.
//   strict   the same copy with --strict: a copy whose plain ingest counted malformed lines exits 2.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Rng } from '../../samples/rng.js';

export const CORRUPTIONS = [
  'truncate',
  'bitflip',
  'shuffle',
  'duplicate',
  'delete',
  'junk',
  'longline',
  'gzip-bitflip',
  'gzip-truncate',
] as const;
export type Corruption = (typeof CORRUPTIONS)[number];

/** Small captures for most copies, the big ones now and then. */
export const SOURCES = [
  'qemu-smmuv3-lazy.log.gz',
  'qemu-vtd-legacy-lazy.log.gz',
  'qemu-smmuv3-lazy.log.gz',
  'qemu-vtd-legacy-lazy.log.gz',
  'guest-smmuv3-lazy.txt.gz',
  'guest-vtd-legacy-lazy.txt.gz',
  'qemu-smmuv3-strict.log.gz',
];

function lines(text: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === 10) {
      out.push(text.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.subarray(start));
  return out;
}

/** Applies one corruption; returns the bytes and the file extension to write them under. */
export function corrupt(kind: Corruption, gz: Buffer, r: Rng): { bytes: Buffer; gz: boolean } {
  const text = gunzipSafe(gz);
  const ls = lines(text);
  const n = ls.length;
  const pos = () => r.int(Math.max(1, n));
  switch (kind) {
    case 'truncate':
      return { bytes: text.subarray(0, r.int(text.length)), gz: false };
    case 'bitflip': {
      const b = Buffer.from(text);
      for (let k = 0, m = 1 + r.int(8); k < m; k++) b[r.int(b.length)]! ^= 1 << r.int(8);
      return { bytes: b, gz: r.int(2) === 0 };
    }
    case 'shuffle': {
      const out = [...ls];
      const at = pos();
      const w = Math.min(n - at, 2 + r.int(20));
      for (let i = w - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [out[at + i], out[at + j]] = [out[at + j]!, out[at + i]!];
      }
      return { bytes: Buffer.concat(out), gz: false };
    }
    case 'duplicate': {
      const out = [...ls];
      for (let k = 0, m = 1 + r.int(5); k < m; k++) {
        const i = pos();
        out.splice(i, 0, out[i] ?? Buffer.alloc(0));
      }
      return { bytes: Buffer.concat(out), gz: r.int(2) === 0 };
    }
    case 'delete': {
      const out = [...ls];
      for (let k = 0, m = 1 + r.int(5); k < m; k++) out.splice(r.int(Math.max(1, out.length)), 1);
      return { bytes: Buffer.concat(out), gz: false };
    }
    case 'junk': {
      const out = [...ls];
      const junk = Buffer.alloc(1 + r.int(4096));
      for (let i = 0; i < junk.length; i++) junk[i] = r.int(256);
      out.splice(pos(), 0, junk);
      return { bytes: Buffer.concat(out), gz: r.int(2) === 0 };
    }
    case 'longline': {
      const out = [...ls];
      const line = Buffer.alloc(10 * 1024 * 1024 + 1, 0x41);
      line[line.length - 1] = 10;
      out.splice(pos(), 0, line);
      return { bytes: Buffer.concat(out), gz: r.int(2) === 0 };
    }
    case 'gzip-bitflip': {
      const b = Buffer.from(gzipSync(text));
      for (let k = 0, m = 1 + r.int(4); k < m; k++) b[10 + r.int(b.length - 10)]! ^= 1 << r.int(8);
      return { bytes: b, gz: true };
    }
    case 'gzip-truncate': {
      const b = gzipSync(text);
      return { bytes: b.subarray(0, 1 + r.int(b.length - 1)), gz: true };
    }
  }
}

function gunzipSafe(b: Buffer): Buffer {
  return b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b;
}

export interface IngestSummaryLike {
  readonly commands?: number;
  readonly by_op?: Record<string, number>;
  readonly warnings: readonly string[];
  readonly sources?: readonly { malformed: number }[];
  readonly inferred?: { commands: number };
}

export interface CopyResult {
  readonly file: string;
  readonly kind: Corruption;
  readonly code: number | null;
  readonly seconds: number;
  /** Crash: the rule broken (exit code, stack trace, hang). */
  readonly crash?: string;
  /** A report rule broken (missing file/line). */
  readonly report?: string;
  /** Kept output that silently lost commands. */
  readonly silent?: string;
  readonly strict?: string;
}

const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

export function runIngest(cli: string, file: string, out: string, extra: readonly string[], timeoutMs: number) {
  const t0 = Date.now();
  // A process that could not start has no output at all, whatever spawnSync's return type says.
  const r: { status: number | null; signal: NodeJS.Signals | null; stdout: string | null; stderr: string | null } = spawnSync(
    process.execPath,
    [cli, 'ingest', file, '-o', out, '--json', ...extra],
    { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 },
  );
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', seconds: (Date.now() - t0) / 1000 };
}

const malformedOf = (s: IngestSummaryLike) => (s.sources ?? []).reduce((a, x) => a + x.malformed, 0);

/** Ingests one corrupted copy (and, when it counted malformed lines, again with --strict) and applies the rules. */
export function checkCopy(
  cli: string,
  file: string,
  kind: Corruption,
  original: IngestSummaryLike,
  dir: string,
  timeoutMs: number,
): CopyResult {
  const out = join(dir, `${basename(file)}.arrow`);
  rmSync(out, { force: true });
  const r = runIngest(cli, file, out, [], timeoutMs);
  const base = { file, kind, code: r.code, seconds: r.seconds };
  const name = basename(file);
  if (r.signal !== null || r.code === null)
    return { ...base, crash: `no exit code (${r.signal ?? 'time limit'} after ${r.seconds} s): a hang or a kill` };
  if (![0, 1, 2].includes(r.code)) return { ...base, crash: `exit ${r.code}: ${r.stderr.trim().split('\n')[0]}` };
  if (STACK.test(r.stderr)) return { ...base, crash: `stack trace on stderr: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}` };
  if (r.code === 2) {
    const err = r.stderr.trim();
    if (!err.includes(name)) return { ...base, report: `exit 2 without naming the file: ${err.split('\n')[0]}` };
    if (err.split('\n').length > 1) return { ...base, report: `exit 2 with a ${err.split('\n').length}-line error` };
    if (existsSync(out)) return { ...base, report: 'exit 2 but an output file was written' };
    return base;
  }
  if (r.code !== 0) return base;
  let s: IngestSummaryLike;
  try {
    s = JSON.parse(r.stdout) as IngestSummaryLike;
  } catch {
    return { ...base, report: `exit 0 without a JSON summary: ${r.stdout.slice(0, 120)}` };
  }
  const malformed = malformedOf(s);
  const res: { report?: string; silent?: string; strict?: string } = {};
  if (malformed > 0 && !s.warnings.some((w) => w.includes(name) && /:\d+/.test(w)))
    res.report = `${malformed} malformed lines but no warning naming ${name} and a line`;
  const same = JSON.stringify(s.by_op ?? {}) === JSON.stringify(original.by_op ?? {});
  const fewer = (s.commands ?? 0) < (original.commands ?? 0);
  // A command the intact capture does not have (an op count above the intact one, `(unknown)`).
  const extra = Object.entries(s.by_op ?? {})
    .filter(([op, n]) => n > (original.by_op?.[op] ?? 0))
    .map(([op]) => op);
  const inferredMore = (s.inferred?.commands ?? 0) > (original.inferred?.commands ?? 0);
  // Truncated or deleted lines are gone from the file: fewer commands are what it holds. What must
  // not happen silently is a command the file does not hold. Other damage keeps every line, so
  // the commands must be the intact capture's, or the summary must say why not.
  const removal = kind === 'truncate' || kind === 'delete';
  const changed = removal ? extra.length > 0 : fewer || !same;
  if (changed && s.warnings.length === 0 && malformed === 0 && !inferredMore) {
    res.silent = `kept ${s.commands} commands (intact: ${original.commands}; ${extra.length ? `more ${extra.join(', ')}` : same ? 'same ops' : 'other ops'}) with no warning, no malformed line, nothing inferred`;
  }
  if (malformed > 0) {
    const st = runIngest(cli, file, `${out}.strict`, ['--strict'], timeoutMs);
    if (st.code !== 2) res.strict = `--strict exits ${st.code} although ${malformed} lines are malformed`;
    else if (STACK.test(st.stderr)) res.strict = '--strict prints a stack trace';
  }
  return { ...base, ...res };
}

/** Writes `n` corrupted copies from `seed` into `dir` and checks each. */
export function runCorruption(opts: {
  cli: string;
  captures: string;
  dir: string;
  seed: number;
  n: number;
  timeoutMs: number;
  onCopy?: (c: CopyResult) => void;
}): CopyResult[] {
  const r = new Rng(opts.seed);
  const originals = new Map<string, IngestSummaryLike>();
  const results: CopyResult[] = [];
  for (let i = 0; i < opts.n; i++) {
    const src = opts.n >= CORRUPTIONS.length * 2 ? SOURCES[r.int(SOURCES.length)]! : SOURCES[i % SOURCES.length]!;
    const kind = CORRUPTIONS[i % CORRUPTIONS.length]!;
    const path = join(opts.captures, src);
    if (!originals.has(src)) {
      const o = runIngest(opts.cli, path, join(opts.dir, `orig-${src}.arrow`), [], opts.timeoutMs);
      if (o.code !== 0) throw new Error(`the intact capture ${src} does not ingest (exit ${o.code}): ${o.stderr.trim()}`);
      originals.set(src, JSON.parse(o.stdout) as IngestSummaryLike);
    }
    const c = corrupt(kind, readFileSync(path), r);
    const stem = src.replace(/\.gz$/, '');
    const file = join(opts.dir, `${i}-${kind}-${stem}${c.gz ? '.gz' : ''}`);
    writeFileSync(file, c.gz && kind !== 'gzip-bitflip' && kind !== 'gzip-truncate' ? gzipSync(c.bytes) : c.bytes);
    const res = checkCopy(opts.cli, file, kind, originals.get(src)!, opts.dir, opts.timeoutMs);
    results.push(res);
    opts.onCopy?.(res);
    if (!res.crash && !res.report && !res.silent && !res.strict) rmSync(file, { force: true }); // keep failing copies only
  }
  return results;
}
