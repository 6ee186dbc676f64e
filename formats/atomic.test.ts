// AtomicFile publishes a file whole: before commit the target keeps its old bytes, after it the new
// ones, with nothing left beside it (no temporary file, no link to the old file); over an existing
// target the old file is kept linked through the rename (docs: ext4's flush on replace), which must
// not leave that link behind nor change another link of the old file.
import { linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicFile } from './atomic.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function written(target: string, text: string): AtomicFile {
  const f = new AtomicFile(target);
  f.write(Buffer.from(text));
  return f;
}

describe('AtomicFile', () => {
  it('publishes a new file, and replaces an existing one, leaving only the target', () => {
    dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const target = join(dir, 'out.arrow');
    const a = written(target, 'first');
    expect(readdirSync(dir)).toHaveLength(1); // the temporary file only
    a.commit();
    expect(readdirSync(dir)).toEqual(['out.arrow']);
    expect(readFileSync(target, 'utf8')).toBe('first');
    const b = written(target, 'second');
    expect(readFileSync(target, 'utf8')).toBe('first'); // untouched until the commit
    b.commit();
    expect(readdirSync(dir)).toEqual(['out.arrow']);
    expect(readFileSync(target, 'utf8')).toBe('second');
  });

  it('leaves another link of the old file as it was', () => {
    dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const target = join(dir, 'out.arrow');
    writeFileSync(target, 'old');
    linkSync(target, join(dir, 'kept'));
    written(target, 'new').commit();
    expect(readFileSync(join(dir, 'kept'), 'utf8')).toBe('old');
    expect(readFileSync(target, 'utf8')).toBe('new');
    expect(readdirSync(dir).sort()).toEqual(['kept', 'out.arrow']);
  });

  it('abort leaves the target as it was and nothing else', () => {
    dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const target = join(dir, 'out.arrow');
    writeFileSync(target, 'old');
    written(target, 'new').abort();
    expect(readdirSync(dir)).toEqual(['out.arrow']);
    expect(readFileSync(target, 'utf8')).toBe('old');
  });
});
