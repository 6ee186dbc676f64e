// One frame line: text cut or padded to the pane's width, in a theme colour. Every pane draws
// exactly its number of lines, so the frame never changes height between keys.

import { Text } from 'ink';

export interface LineProps {
  readonly text: string;
  readonly width: number;
  readonly color?: string | undefined;
  readonly bg?: string | undefined;
  readonly bold?: boolean;
  readonly dim?: boolean;
}

export const fit = (s: string, width: number): string => (s.length > width ? `${s.slice(0, Math.max(0, width - 1))}…` : s.padEnd(width));

export function Line({ text, width, color, bg, bold, dim }: LineProps) {
  return (
    <Text
      wrap="truncate"
      {...(color ? { color } : {})}
      {...(bg ? { backgroundColor: bg } : {})}
      bold={bold ?? false}
      dimColor={dim ?? false}
    >
      {fit(text, width)}
    </Text>
  );
}

/** `n` empty lines: what a pane draws below its content. */
export function Blank({ n, width }: { readonly n: number; readonly width: number }) {
  return (
    <>
      {Array.from({ length: Math.max(0, n) }, (_, i) => (
        <Text key={`blank-${i}`}>{' '.repeat(width)}</Text>
      ))}
    </>
  );
}

/** A line being edited: a label, the text scrolled to keep the cursor in view, the cursor inverse. */
export function EditLine({
  label,
  text,
  cursor,
  width,
  labelColor,
}: {
  readonly label: string;
  readonly text: string;
  readonly cursor: number;
  readonly width: number;
  readonly labelColor: string;
}) {
  const room = width - label.length - 1;
  const start = Math.max(0, cursor - room + 1);
  const visible = text.slice(start, start + room);
  const at = cursor - start;
  return (
    <Text wrap="truncate">
      <Text color={labelColor}>{label}</Text>
      {visible.slice(0, at)}
      <Text inverse>{visible[at] ?? ' '}</Text>
      {visible.slice(at + 1).padEnd(Math.max(0, room - at))}
    </Text>
  );
}
