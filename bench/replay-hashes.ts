// The replay's proof of neutrality: sha256 of every result table (host_ops, completions,
// violations, summary, replay.json) for every bundled input — each QEMU+guest capture pair under
// samples/captures ingested, every samples/scenarios/*.jsonl (ingested), every samples/generated/*.arrow —
// replayed under `--policy all,designs` (every policy, the variants DESIGN.md names, and the designs).
// A speed or refactoring change must leave every hash as it was; a change in verdicts or costs shows
// up here by name.
//
//   npm run replay:hashes                      print the hashes as JSON
//   npm run replay:hashes -- --write FILE      write them to FILE (the committed reference)
//   npm run replay:hashes -- --check FILE      compare with FILE; exit 1 and list any difference
//   ... -- --jobs N                            replay with N worker threads (default: as `replay` picks;
//                                              every bundled input is small enough to run serially)
//   ... -- --bare-thread                       bare hardware on a thread of its own (replay/bare-thread.ts)
//                                              for every input: its handoff must give the same bytes
//
// Inputs are copied into a scratch folder and replayed by relative path, so replay.json (which
// names its trace) hashes the same in any checkout.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../formats/atomic.js';
import { ingest } from '../formats/ingest/ingest.js';
import { runReplay } from '../replay/run.js';

const TABLES = ['host_ops.arrow', 'completions.arrow', 'violations.arrow', 'summary.arrow', 'replay.json'] as const;
const repo = fileURLToPath(new URL('../../', import.meta.url));

/** name → [input files] (the inputs of one replay). */
function bundledInputs(): [string, string[]][] {
  const out: [string, string[]][] = [];
  const cap = join(repo, 'samples/captures');
  for (const f of readdirSync(cap).sort()) {
    const m = /^qemu-(.+)\.log\.gz$/.exec(f);
    const guest = m && join(cap, `guest-${m[1]}.txt.gz`);
    if (m && guest && existsSync(guest)) out.push([`capture-${m[1]}`, [join(cap, f), guest]]);
  }
  for (const d of ['samples/scenarios', 'samples/generated']) {
    for (const f of readdirSync(join(repo, d)).sort()) if (/\.(jsonl|arrow)$/.test(f)) out.push([f, [join(repo, d, f)]]);
  }
  return out;
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

export async function replayHashes(
  log: (s: string) => void = () => {},
  jobs?: number,
  bareThread?: boolean,
): Promise<Record<string, Record<string, string>>> {
  const scratch = mkdtempSync(join(tmpdir(), 'invtrace-hashes-'));
  const cwd = process.cwd();
  const out: Record<string, Record<string, string>> = {};
  try {
    process.chdir(scratch);
    mkdirSync('in');
    for (const [name, files] of bundledInputs()) {
      const t0 = Date.now();
      let input: string;
      if (files[0]!.endsWith('.arrow')) {
        input = `in/${basename(files[0]!)}`;
        copyFileSync(files[0]!, input);
      } else {
        input = `in/${name}.arrow`;
        await ingest(files, { output: input });
      }
      const dir = `out/${name}`;
      await runReplay(input, {
        policies: ['all', 'designs'],
        outDir: dir,
        ...(jobs !== undefined ? { jobs } : {}),
        ...(bareThread !== undefined ? { bareThread } : {}),
      });
      out[name] = Object.fromEntries(TABLES.map((t) => [t, sha(join(dir, t))]));
      log(`${name}: ${Date.now() - t0} ms`);
    }
  } finally {
    process.chdir(cwd);
    rmSync(scratch, { recursive: true, force: true });
  }
  return out;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const jobs = at('--jobs');
  const hashes = await replayHashes(
    (s) => process.stderr.write(`${s}\n`),
    jobs === undefined ? undefined : Number(jobs),
    args.includes('--bare-thread') ? true : undefined,
  );
  const text = `${JSON.stringify(hashes, null, 2)}\n`;
  const write = at('--write');
  const check = at('--check');
  if (write !== undefined) writeFileAtomic(write, text);
  if (check === undefined) {
    if (write === undefined) process.stdout.write(text);
    return 0;
  }
  const ref = JSON.parse(readFileSync(check, 'utf8')) as Record<string, Record<string, string>>;
  const diffs: string[] = [];
  for (const name of new Set([...Object.keys(ref), ...Object.keys(hashes)])) {
    for (const t of TABLES) {
      const a = ref[name]?.[t];
      const b = hashes[name]?.[t];
      if (a !== b) diffs.push(`${name} ${t}: ${a ?? 'missing'} -> ${b ?? 'missing'}`);
    }
  }
  const total = Object.keys(hashes).length * TABLES.length;
  if (diffs.length === 0) {
    process.stdout.write(
      `identical: ${total} result files (${Object.keys(hashes).length} inputs x ${TABLES.length} tables, --policy all,designs)\n`,
    );
    return 0;
  }
  process.stdout.write(`${diffs.length} of ${total} result files differ:\n${diffs.join('\n')}\n`);
  return 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main();
