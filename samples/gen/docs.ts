// The workload and option tables as text, Markdown and JSON: `gen --list` prints them and the
// README's gen section holds the Markdown (docs.test.ts keeps it in step with the tables).

import { defaultText, flagName, OPTIONS } from './options.js';
import { WORKLOADS, type Workload } from './workloads.js';

const arches = ['smmuv3', 'vtd'] as const;

function defaults(flag: (typeof OPTIONS)[number]): string {
  const [a, b] = arches.map((x) => defaultText(flag, x));
  if (flag.arch !== undefined) return defaultText(flag, flag.arch);
  return a === b ? a! : `${a} (smmuv3), ${b} (vtd)`;
}

function workloadOptions(w: Workload): string {
  const set = Object.entries(w.options).map(([k, v]) => `--${flagName(OPTIONS.find((o) => o.key === k)!)} ${v}`);
  if (w.devices) set.push(`devices: ${w.devices.map((d) => `${d.name}${d.ats ? ' (ATS)' : ''}`).join(', ')}`);
  return set.join('; ');
}

export function listJson(): unknown {
  return {
    workloads: WORKLOADS.map((w) => ({
      name: w.name,
      arch: w.arch,
      description: w.description,
      options: w.options,
      ...(w.capture ? { capture: w.capture } : {}),
      ...(w.devices ? { devices: w.devices } : {}),
    })),
    options: OPTIONS.map((o) => ({
      flag: o.flag,
      key: o.key,
      description: o.description,
      ...(o.arch ? { arch: o.arch } : {}),
      default: o.default,
    })),
  };
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

export function listMarkdown(): string {
  const lines = ['| workload | arch | what it is | its settings |', '| --- | --- | --- | --- |'];
  for (const w of WORKLOADS)
    lines.push(`| \`${w.name}\` | ${w.arch} | ${esc(w.description)} | ${esc(workloadOptions(w)) || 'the defaults'} |`);
  lines.push('', '| option | default | meaning |', '| --- | --- | --- |');
  for (const o of OPTIONS) {
    lines.push(`| \`${o.flag}\` | ${esc(defaults(o))} | ${o.arch ? `${o.arch} only: ` : ''}${esc(o.description)} |`);
  }
  return lines.join('\n');
}

export function listText(): string {
  const lines = ['Workloads (invtrace gen WORKLOAD -o OUT.arrow [options]):', ''];
  for (const w of WORKLOADS) {
    lines.push(`  ${w.name}  [${w.arch}]`, `      ${w.description}`);
    const s = workloadOptions(w);
    if (s) lines.push(`      ${s}`);
  }
  lines.push('', 'Options (a workload sets its own defaults; yours win):', '');
  const width = Math.max(...OPTIONS.map((o) => o.flag.length));
  for (const o of OPTIONS) {
    lines.push(`  ${o.flag.padEnd(width)}  ${o.arch ? `[${o.arch}] ` : ''}${o.description}`);
    lines.push(`  ${''.padEnd(width)}  default: ${defaults(o)}`);
  }
  return lines.join('\n');
}
