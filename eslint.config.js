// ESLint flat config: typescript-eslint's strict-type-checked rules over every TypeScript file of the
// tsconfig project, plus switch-exhaustiveness-check (issue 19 §1: a new table row must not slip through
// a switch) and the two React hook rules for the ink TUI. Layout is Prettier's job (.prettierrc.json).
// @ts-check
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'coverage/', '.invtrace-cache/', 'samples/generated/', 'samples/captures/']),
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // The config files sit outside tsconfig.json's include list: lint them with a default project.
        projectService: { allowDefaultProject: ['eslint.config.js', 'vitest.config.ts', 'rolldown.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      // Control characters in a regex are the point where they appear: ANSI escapes, stripping C0 from typed text.
      'no-control-regex': 'off',
      // noUncheckedIndexedAccess types every indexed read `T | undefined`; `x[i]!` after a bounds check is the idiom.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers and bigints print exactly in templates (messages, SQL literals, hex dumps); nullish values still flag.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Async methods and generators implement async interfaces (Source.batches(), Bench.run()) without awaiting.
      '@typescript-eslint/require-await': 'off',
      // Deleting a key from a local Record copy (a variant's options, shown flags) is the intended prune.
      '@typescript-eslint/no-dynamic-delete': 'off',
      // A leading underscore names a value kept on purpose (a destructured slot, an interface's argument).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // `return stop(q, err)` from a void function and `() => set(x)` callbacks are the codebase's early-exit idioms.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.test.tsx', 'cli/tui/test-utils/**'],
    rules: {
      // Tests read JSON.parse output and fixture rows (Record<string, unknown>) untyped on purpose, and build the
      // expected text from them: a wrong shape fails the expect() on that line.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Typed text is split into key presses by code point, which is what spreading a string does.
      '@typescript-eslint/no-misused-spread': 'off',
    },
  },
  {
    files: ['cli/program.ts'],
    rules: {
      // Commander hands each action its parsed options as `any`; cli/options.ts declares them, and
      // cli/options.test.ts checks the program declares exactly those rows with their parsers and choices.
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
