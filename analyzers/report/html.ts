// The report as one self-contained HTML file: the same blocks as the Markdown, the charts inlined
// as SVG, the styles in a <style> element; no script, font, image or stylesheet is fetched.

import type { Block, ChartFile } from './document.js';
import { esc } from './svg.js';

const STYLE = `
body { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e5e5e5; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; font-size: 0.92em; }
code { background: #f3f3f3; padding: 0 0.25em; border-radius: 3px; }
pre { background: #f7f7f7; padding: 0.7em 1em; overflow-x: auto; border-radius: 4px; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
`.trim();

/** Escapes text and turns `code` spans into <code>. */
const inline = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

export function renderHtml(title: string, blocks: readonly Block[], charts: readonly ChartFile[]): string {
  const svgOf = new Map(charts.map((c) => [c.file, c.svg]));
  const body: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'h1':
      case 'h2':
      case 'h3':
        body.push(`<${b.type}>${inline(b.text)}</${b.type}>`);
        break;
      case 'p':
        body.push(`<p>${inline(b.text)}</p>`);
        break;
      case 'list':
        body.push(`<ul>\n${b.items.map((i) => `<li>${inline(i)}</li>`).join('\n')}\n</ul>`);
        break;
      case 'code':
        body.push(`<pre>${esc(b.text)}</pre>`);
        break;
      case 'chart': {
        const svg = svgOf.get(b.file);
        if (svg === undefined) throw new Error(`report: no chart ${b.file}`);
        body.push(`<figure>\n${svg}\n<figcaption>${inline(b.alt)} (<a href="${esc(b.file)}">${esc(b.file)}</a>)</figcaption>\n</figure>`);
        break;
      }
      case 'table': {
        const right = new Set(b.right);
        const cls = (i: number) => (right.has(i) ? ' class="num"' : '');
        body.push(
          [
            '<table>',
            `<thead><tr>${b.head.map((h, i) => `<th${cls(i)}>${inline(h)}</th>`).join('')}</tr></thead>`,
            '<tbody>',
            ...b.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${inline(c)}</td>`).join('')}</tr>`),
            '</tbody>',
            '</table>',
          ].join('\n'),
        );
        break;
      }
    }
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>\n${STYLE}\n</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
