// The fast paths of ingest (a VT-d or SMMUv3 QEMU log, or a guest trace, read alone straight into
// the trace's columns) against the path they shortcut, queue event objects pushed into the
// assembler (`eventObjects`): the helpers the tests of each fast path share
// (formats/ingest/direct.test.ts, smmuv3-direct.test.ts, guest-direct.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { InputFault } from '../formats/result.js';
import { ingest, type IngestOptions } from '../formats/ingest/ingest.js';
import { capture, tempDir } from './helpers.js';

/** A bundled capture's text (gzip'd in samples/captures). */
export const captureText = (name: string) => gunzipSync(readFileSync(capture(name))).toString('utf8');

/**
 * Ingests into a scratch folder of the calling test file (call at its top level), each run with
 * `base` options: `both` ingests a file both ways (fast, then event objects) and gives the
 * summaries (outputs named alike) and the trace bytes; `fault` gives the InputFault message of a
 * failing --strict ingest, one way; `put` writes a file there.
 */
export function bothWays(base: Partial<IngestOptions> = {}) {
  const dir = tempDir();
  let n = 0;
  const both = async (file: string, opts: Partial<IngestOptions> = {}) => {
    const run = async (eventObjects: boolean) => {
      const o = join(dir, `d${n++}.arrow`);
      const s = await ingest([file], { output: o, eventObjects, ...base, ...opts });
      return { summary: { ...s, output: 'x.arrow' }, bytes: readFileSync(o) };
    };
    return { direct: await run(false), objects: await run(true) };
  };
  const fault = async (file: string, eventObjects: boolean): Promise<string> => {
    try {
      await ingest([file], { output: join(dir, `f${n++}.arrow`), eventObjects, ...base, strict: true });
    } catch (e) {
      expect(e).toBeInstanceOf(InputFault);
      return (e as Error).message;
    }
    throw new Error('the ingest did not fail');
  };
  const put = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };
  return { dir, both, fault, put };
}
