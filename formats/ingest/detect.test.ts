// Format detection reads a file once (detect.ts): the first 200 non-empty lines are kept for the
// JSONL header and then guessed from before the lines after them are read. These cases fail when
// the kept head is not guessed from (a `# tracer:` first line), when blank lines are counted, when
// the rest is not read on (an architecture named after the head), or when a line spans blocks.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { sniff } from './detect.js';

const dir = tempDir();
let n = 0;

/** The text written plain and gzip-compressed: both sniffed alike. */
async function sniffBoth(text: string): Promise<unknown> {
  const plain = join(dir, `s${n++}.txt`);
  const gz = join(dir, `s${n++}.txt.gz`);
  writeFileSync(plain, text);
  writeFileSync(gz, gzipSync(text));
  const a = await sniff(plain);
  expect(await sniff(gz)).toEqual(a);
  return a;
}

const QI = '       swapper/0-1       [001] d..1.     1.348579: qi_submit: pc_inv dmar0: 0x37 0x0 0x0 0x0';
const VTD = '16072@1795239943.536861:vtd_inv_qi_head head 0';
const lines = (k: number, l: string) => Array.from({ length: k }, () => l);

describe('sniff', () => {
  it('an ftrace file whose first line says so and whose first qi_submit comes after the head', async () => {
    expect(await sniffBoth(['# tracer: nop', ...lines(300, '# a comment'), QI, ''].join('\n'))).toEqual({ format: 'ftrace', arch: 'vtd' });
    // Without the first line, 200 lines of neither kind: no format.
    expect(await sniffBoth([...lines(300, '# a comment'), QI, ''].join('\n'))).toBeUndefined();
  });

  it('blank lines are not counted; a QEMU log after 300 of them', async () => {
    expect(await sniffBoth([...lines(300, ' '), ...lines(5, VTD)].join('\n'))).toEqual({ format: 'qemu-log', arch: 'vtd' });
  });

  it('a JSONL header among the first 200 non-empty lines, not after', async () => {
    const header = '{"invtrace": 1, "arch": "smmuv3"}';
    expect(await sniffBoth([...lines(199, '# c'), header, ''].join('\n'))).toEqual({ format: 'jsonl', arch: 'smmuv3' });
    expect(await sniffBoth([...lines(200, '# c'), header, ''].join('\n'))).toBeUndefined();
  });

  it('a line longer than a block (256 KiB) before the capture', async () => {
    const long = `x${'.'.repeat(600_000)}`;
    expect(await sniffBoth([...lines(3, VTD), long, ...lines(3, VTD)].join('\r\n'))).toEqual({ format: 'qemu-log', arch: 'vtd' });
    expect(await sniffBoth(['# tracer: nop', long, ...lines(250, '# c'), QI].join('\n'))).toEqual({ format: 'ftrace', arch: 'vtd' });
  });
});
