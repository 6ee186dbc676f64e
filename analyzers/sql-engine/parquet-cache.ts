// Parquet copies of Arrow files, kept in a cache folder, for an engine that reads Parquet in place
// (native DuckDB: `read_parquet` scans only the columns and row groups a query needs, on every
// core, straight from the file). The .arrow file stays the canonical trace; its copy is a cache:
//
//   - where: $INVTRACE_CACHE_DIR, else $XDG_CACHE_HOME/invtrace, else ~/.cache/invtrace, in a
//     `parquet/` folder (a temporary folder when that one cannot be written);
//   - key: the source's real path, size, modification time and inode (and this module's format
//     version): any rewrite of the trace (ingest, gen, replay -o) gives a new key, and writing a
//     new copy removes the older copies of the same path;
//   - bounded: past CACHE_BYTES ($INVTRACE_CACHE_MAX_MB) the copies used longest ago are removed
//     (a copy's modification time is set each time a session uses it);
//   - written atomically (a temporary name in the same folder, renamed when complete), so a reader
//     never sees half a file and two processes filling the same entry cannot corrupt it.
// Contents: every column, and for a trace the derived columns of the internal `_trace`
// (derived-columns.ts: running counts computed in the same pass that writes the copy; a trace whose
// rows are not in seq order is written again without them), one row group per ROW_GROUP_ROWS rows (DuckDB reads row groups in
// parallel), dictionary-encoded pages, no compression. Measured on 1M generated commands (1.5M
// rows, 218 MiB of Arrow; CPU seconds, the machine being shared): writing costs 3.2 s whatever the
// codec (parquet-wasm's encoding dominates); the group-by of `npm run bench -- sql` reads the
// uncompressed copy (28 MiB) in 0.07 s, Snappy (22 MiB) 0.08 s, zstd (17 MiB) 0.08 s; without
// dictionary pages the copy is 146 MiB and the read 0.15 s.

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, realpathSync, rmSync, statSync, utimesSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { basename, extname, join } from 'node:path';
import type { RecordBatch, Schema } from 'apache-arrow';
import { AtomicFile } from '../../formats/atomic.js';
import { emptyStream, ipcSegments, type ArrowSource } from '../arrow-files.js';
import { DerivePass, queueGeometry, withDerivedFields } from './derived-columns.js';

/** Bumped when what a copy holds changes, so older copies are not read (2: the derived columns; 3: the fan-out ones; 4: the doorbell and wrap ones; 5: the same less the wrap number; 6: less `_wrapped`, read from the lap). */
const FORMAT = 6;

/** Rows per Parquet row group: a few of DuckDB's 122,880-row scan units. */
const ROW_GROUP_ROWS = 1 << 18;

/** Most bytes of Parquet copies kept. */
const cacheBytes = () => Number(process.env.INVTRACE_CACHE_MAX_MB || 4096) * 2 ** 20;

/** invtrace's cache folder: $INVTRACE_CACHE_DIR, else $XDG_CACHE_HOME/invtrace, else ~/.cache/invtrace. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.INVTRACE_CACHE_DIR || (env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, 'invtrace') : join(homedir(), '.cache', 'invtrace'));
}

/** The cache folder for Parquet copies. */
export const cacheDir = (env: NodeJS.ProcessEnv = process.env): string => join(cacheRoot(env), 'parquet');

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);

/** Where the copy of `path` in its current state lives, and the prefix every copy of that path shares. */
export function cacheEntry(path: string, dir = cacheDir()): { file: string; prefix: string } {
  const real = realpathSync(path);
  const st = statSync(real, { bigint: true });
  const stem = basename(real, extname(real))
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .slice(0, 40);
  const prefix = `${stem}-${hash(real)}-`;
  return { file: join(dir, `${prefix}${hash(`${FORMAT}:${st.size}:${st.mtimeNs}:${st.ino}:${st.dev}`)}.parquet`), prefix };
}

function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * The Parquet copy of an Arrow file: the cached one when the file has not changed since it was
 * written, else a new one (written now; older copies of the same file are removed). A trace's copy
 * holds the derived columns too, unless its rows are out of seq order (the caller reads the copy's
 * columns to know).
 */
export async function parquetOf(src: ArrowSource): Promise<{ path: string; written: boolean }> {
  let dir = cacheDir();
  if (!writable(dir)) {
    dir = join(tmpdir(), `invtrace-${userInfo().uid}`, 'parquet');
    mkdirSync(dir, { recursive: true });
  }
  const { file, prefix } = cacheEntry(src.path, dir);
  try {
    if (statSync(file).isFile()) {
      const now = new Date();
      utimesSync(file, now, now);
      return { path: file, written: false };
    }
  } catch {
    // not cached yet
  }
  let written = false;
  if (src.header !== undefined) {
    const pass = new DerivePass(queueGeometry(src.header));
    written = await writeParquetCopy(file, withDerivedFields(src.schema), pass.batches(src.batches()), () => pass.counted);
  }
  if (!written) await writeParquetCopy(file, src.schema, src.batches());
  prune(dir, prefix, file);
  return { path: file, written: true };
}

/** Removes older copies of the same source, then the copies used longest ago past the size bound. */
function prune(dir: string, prefix: string, keep: string): void {
  const copies = readdirSync(dir)
    .filter((f) => f.endsWith('.parquet'))
    .map((f) => join(dir, f))
    .filter((f) => f !== keep)
    .flatMap((f) => {
      try {
        const st = statSync(f);
        return [{ f, size: st.size, used: st.mtimeMs }];
      } catch {
        return [];
      }
    });
  let total = statSync(keep).size;
  for (const c of copies) {
    if (c.f.slice(dir.length + 1).startsWith(prefix)) rmSync(c.f, { force: true });
    else total += c.size;
  }
  for (const c of copies.filter((x) => !x.f.slice(dir.length + 1).startsWith(prefix)).sort((a, b) => a.used - b.used)) {
    if (total <= cacheBytes()) break;
    rmSync(c.f, { force: true });
    total -= c.size;
  }
}

/** Writes the copy; `keep`, asked once all is written, can still drop it (then false: nothing written). */
async function writeParquetCopy(
  target: string,
  schema: Schema,
  batches: AsyncIterable<RecordBatch>,
  keep: () => boolean = () => true,
): Promise<boolean> {
  const pw = await import('parquet-wasm');
  const file = new AtomicFile(target);
  try {
    const props = new pw.WriterPropertiesBuilder()
      .setCompression(pw.Compression.UNCOMPRESSED)
      .setStatisticsEnabled(pw.EnabledStatistics.Chunk)
      .setMaxRowGroupSize(ROW_GROUP_ROWS)
      .build();
    const it = ipcSegments(batches, ROW_GROUP_ROWS)[Symbol.asyncIterator](); // one row group each
    const first = await it.next();
    if (first.done) {
      // The stream writer learns the schema from a batch: a file without rows is written whole.
      file.write(pw.writeParquet(pw.Table.fromIPCStream(emptyStream(schema)), props));
      file.commit();
      return true;
    }
    let head: Uint8Array | undefined = first.value;
    const source = new ReadableStream({
      async pull(ctrl) {
        const r = head !== undefined ? { done: false as const, value: head } : await it.next();
        head = undefined;
        if (r.done) {
          ctrl.close();
          return;
        }
        const t = pw.Table.fromIPCStream(r.value);
        for (const b of t.recordBatches()) ctrl.enqueue(b);
        t.free();
      },
    });
    const out = await pw.transformParquetStream(source, props);
    for await (const chunk of out as unknown as AsyncIterable<Uint8Array>) file.write(chunk);
    if (!keep()) {
      file.abort();
      return false;
    }
    file.commit();
    return true;
  } catch (e) {
    file.abort();
    throw e;
  }
}
