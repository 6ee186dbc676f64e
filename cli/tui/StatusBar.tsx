// The bottom line: the prompt being typed (search, filter, go to), else the last message, else
// the main keys.

import { Text } from 'ink';
import { EditLine, fit, Line } from './Line.js';
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
  if (prompt)
    return <EditLine label={PROMPTS[prompt.kind]} text={prompt.text} cursor={prompt.cursor} width={width} labelColor={theme.title} />;
  if (status) return <Line text={status.text} width={width} color={status.error ? theme.error : theme.text} />;
  return <Text color={theme.dim}>{fit(hint, width)}</Text>;
}
