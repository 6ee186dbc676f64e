// A small XML reader for tests: parses a document into elements (name, attributes, children,
// text) and throws on anything that is not well-formed (unclosed or mismatched tags, a bad
// attribute, an unknown entity, a stray '<' or '&', two roots). Enough to check the SVG charts and
// the JUnit XML the tool writes without a dependency; not a validating parser.

export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Character data directly inside the element, entities decoded. */
  readonly text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;

function decode(s: string, at: number): string {
  if (/<|&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(s))
    throw new Error(`not well-formed at ${at}: stray '<' or '&' in ${JSON.stringify(s.slice(0, 40))}`);
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (_, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : ENTITIES[e]!,
  );
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  const skipMisc = () => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i]!)) i++;
      if (src.startsWith('<?', i)) i = end('?>');
      else if (src.startsWith('<!--', i)) i = end('-->');
      else if (src.startsWith('<!DOCTYPE', i)) i = end('>');
      else return;
    }
  };
  const end = (marker: string) => {
    const j = src.indexOf(marker, i);
    if (j < 0) throw new Error(`not well-formed: no ${marker} after ${i}`);
    return j + marker.length;
  };
  const element = (): XmlElement => {
    if (src[i] !== '<') throw new Error(`not well-formed at ${i}: expected '<'`);
    i++;
    const m = NAME.exec(src.slice(i));
    if (!m) throw new Error(`not well-formed at ${i}: bad tag name`);
    const name = m[0];
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const ws = /^\s*/.exec(src.slice(i))![0].length;
      i += ws;
      if (src.startsWith('/>', i)) {
        i += 2;
        return { name, attrs, children: [], text: '' };
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      if (ws === 0) throw new Error(`not well-formed at ${i}: expected whitespace before an attribute of <${name}>`);
      const a = /^([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(src.slice(i));
      if (!a) throw new Error(`not well-formed at ${i}: bad attribute in <${name}>`);
      if (a[1]! in attrs) throw new Error(`not well-formed at ${i}: attribute ${a[1]} twice in <${name}>`);
      attrs[a[1]!] = decode(a[3] ?? a[4] ?? '', i);
      i += a[0].length;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) throw new Error(`not well-formed: <${name}> is never closed`);
      text += decode(src.slice(i, lt), i);
      i = lt;
      if (src.startsWith('</', i)) {
        const close = /^<\/([^\s>]+)\s*>/.exec(src.slice(i));
        if (!close || close[1] !== name) throw new Error(`not well-formed at ${i}: </${close?.[1]}> closes <${name}>`);
        i += close[0].length;
        return { name, attrs, children, text };
      }
      if (src.startsWith('<!--', i)) i = end('-->');
      else if (src.startsWith('<![CDATA[', i)) {
        const j = end(']]>');
        text += src.slice(i + 9, j - 3);
        i = j;
      } else children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== src.length) throw new Error(`not well-formed at ${i}: content after the root element`);
  return root;
}

/** Every element under `e` (itself included) with this name, in document order. */
export function findAll(e: XmlElement, name: string): XmlElement[] {
  return [...(e.name === name ? [e] : []), ...e.children.flatMap((c) => findAll(c, name))];
}

/** All text under `e`, in document order. */
export function allText(e: XmlElement): string {
  return e.text + e.children.map(allText).join('');
}
