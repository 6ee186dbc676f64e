// The bottom line: the prompt being typed (search, filter, go to), else the last message, else
// the main keys.

import { Text } from 'ink';
import { fit, Line } from './Line.js';
import type { TuiState } from './state.js';
import { theme } from './theme.js';

export interface StatusBarProps {
  readonly prompt: TuiState['prompt'];
  readonly status: TuiState['status'];
  readonly hint: string;
  readonly width: number;
}

const PROMPTS = { search: '/', filter: 'filter: ', goto: 'go to seq: ' } as const;

export function StatusBar({ prompt, status, hint, width }: StatusBarProps) {
  if (prompt) {
    const label = PROMPTS[prompt.kind];
    const room = width - label.length - 1;
    const start = Math.max(0, prompt.cursor - room + 1);
    const visible = prompt.text.slice(start, start + room);
    const at = prompt.cursor - start;
    return (
      <Text wrap="truncate">
        <Text color={theme.title}>{label}</Text>
        {visible.slice(0, at)}
        <Text inverse>{visible[at] ?? ' '}</Text>
        {visible.slice(at + 1).padEnd(Math.max(0, room - at))}
      </Text>
    );
  }
  if (status) return <Line text={status.text} width={width} color={status.error ? theme.error : theme.text} />;
  return <Text color={theme.dim}>{fit(hint, width)}</Text>;
}
