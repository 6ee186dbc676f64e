// `invtrace views [NAME] [--json]`: the analyzer library (analyzers/sql/*.sql) with its comments:
// every module and public view, or one view's (or module's) columns. Reads the .sql files only:
// no DuckDB starts.

import { loadModules, type SqlModule, type SqlObject } from '../../analyzers/modules.js';
import { toJson } from '../render/json.js';
import { renderTable } from '../render/table.js';
import { out, UsageError } from '../run.js';

const firstSentence = (doc: string) => {
  const flat = doc.replace(/\s+/g, ' ').trim();
  const m = /^.*?[.](\s|$)/.exec(flat);
  return (m ? m[0] : flat).trim();
};

const publicObjects = (m: SqlModule) => m.objects.filter((o) => !o.name.startsWith('_'));

function objectText(o: SqlObject): string {
  const head = `${o.name} (${o.kind})\n  ${o.doc.replace(/\s+/g, ' ')}`;
  if (o.columns.length === 0) return head;
  return `${head}\n\n${renderTable(
    ['column', 'meaning'],
    o.columns.map((c) => [c.name, c.doc]),
    { indent: '  ' },
  )}`;
}

export async function viewsCommand(name: string | undefined, opts: { json?: boolean }): Promise<number> {
  const modules = loadModules();
  const shape = (m: SqlModule) => ({
    module: m.name,
    doc: m.doc,
    requires: m.requires,
    views: publicObjects(m).map((o) => ({ name: o.name, kind: o.kind, doc: o.doc.replace(/\s+/g, ' '), columns: o.columns })),
  });
  if (name !== undefined) {
    const mod = modules.find((m) => m.name === name);
    const obj = modules.flatMap(publicObjects).find((o) => o.name === name);
    if (mod === undefined && obj === undefined)
      throw new UsageError(`no analyzer view or module named "${name}" (invtrace views lists them)`);
    if (opts.json) out(toJson(mod ? shape(mod) : obj));
    else
      out(
        mod
          ? [`module ${mod.name}: ${mod.doc} (reads ${mod.requires.join(', ')})`, ...publicObjects(mod).map(objectText)].join('\n\n')
          : objectText(obj!),
      );
    return 0;
  }
  if (opts.json) {
    out(toJson(modules.map(shape)));
    return 0;
  }
  const lines: string[] = [];
  for (const m of modules) {
    lines.push(`${m.name}: ${firstSentence(m.doc.replace(/^Module \w+:\s*/, ''))} (reads ${m.requires.join(', ')})`);
    lines.push(
      renderTable(
        ['view', 'shows'],
        publicObjects(m).map((o) => [o.name, firstSentence(o.doc)]),
        { indent: '  ' },
      )
        .split('\n')
        .slice(2)
        .join('\n'),
    );
    lines.push('');
  }
  lines.push('invtrace views NAME shows the columns of a view or module.');
  out(lines.join('\n'));
  return 0;
}
