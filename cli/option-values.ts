// How option values given as text become what the commands use: the --jobs thread count and the
// --host-queue slots (commander parsers: a bad value is a usage error, exit 2) and the --policy
// list cut into policy specs. The option table (options.ts) refers to these; the commands call them.

import { InvalidArgumentError } from 'commander';

/** `--jobs <n>` of replay and compare: a whole number of worker threads, 1 or more. */
export function threadCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of threads, 1 or more');
  return n;
}

/** `--host-queue <n>` of compare/replay --shared-host: slots of a physical queue, a power of two from 2 to 2^20. */
export function hostQueueSlots(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 1 << 20 || (n & (n - 1)) !== 0)
    throw new InvalidArgumentError(`expected a power of two from 2 to ${1 << 20} slots`);
  return n;
}

/**
 * `--policy` as policy specs: commas separate policies, but a `key=value` after a spec with
 * parameters is that spec's next parameter.
 * `linear-batch:split_on_wrap=true,vmm=prepass,per-command` → the two specs.
 */
export function splitPolicyList(list: string): string[] {
  const out: string[] = [];
  for (const part of list.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    if (/^[^:=]+=/.test(p) && out.length > 0 && out[out.length - 1]!.includes(':')) out[out.length - 1] = `${out[out.length - 1]!},${p}`;
    else out.push(p);
  }
  return out;
}
