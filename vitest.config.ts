import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` (Node, fake-indexeddb, msw/node), `dom` (React components in happy-dom) and
 * `browser` (the built app in real Chromium through playwright-core; slower, run one file at a time).
 */
export default defineConfig({
  plugins: [react()],
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          environment: 'node',
          include: ['test/unit/**/*.test.ts', 'test/core/**/*.test.ts', 'test/server/**/*.test.ts'],
          setupFiles: ['test/setup/fake-indexeddb.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'dom',
          environment: 'happy-dom',
          include: ['test/dom/**/*.test.tsx'],
          setupFiles: ['test/setup/fake-indexeddb.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
