// Test runner configuration: tests sit beside the code (X.test.ts) or under test/.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{cli,formats,replay,analyzers,samples,test}/**/*.test.{ts,tsx}'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
