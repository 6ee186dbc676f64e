// The top line: the views (number keys) and what is open.

import { Text } from 'ink';
import { VIEWS, type View } from './state.js';
import { theme } from './theme.js';

export interface TabBarProps {
  readonly view: View;
  readonly help: boolean;
  readonly title: string;
  readonly width: number;
}

const LABELS: Readonly<Record<View, string>> = { commands: 'commands', queue: 'queue', policies: 'policies', sql: 'sql' };

export function TabBar({ view, help, title, width }: TabBarProps) {
  const tabs = VIEWS.map((v, i) => ({ v, text: ` ${i + 1} ${LABELS[v]} ` }));
  const used = tabs.reduce((n, t) => n + t.text.length, 0) + 3;
  const rest = ` ${title}`;
  const room = Math.max(0, width - used);
  return (
    <Text wrap="truncate">
      {tabs.map((t) => (
        <Text key={t.v} {...(t.v === view && !help ? { color: theme.selectedFg, backgroundColor: theme.tab } : { color: theme.tab })}>
          {t.text}
        </Text>
      ))}
      <Text {...(help ? { color: theme.selectedFg, backgroundColor: theme.tab } : { color: theme.tab })}> ? </Text>
      <Text color={theme.dim}>{(rest.length > room ? `${rest.slice(0, Math.max(0, room - 1))}…` : rest).padEnd(room)}</Text>
    </Text>
  );
}
