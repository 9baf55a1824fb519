import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * The in-page benchmark code, bundled the way the app is (production mode, minified) so the figures measure
 * the code a user runs. The Workbox service workers are module workers built in the same pass.
 */
const here = import.meta.dirname;

export default defineConfig({
  root: resolve(here, 'page'),
  base: '/',
  logLevel: 'warn',
  publicDir: false,
  // As the app's own build (vite.config.ts): rxjs's ES2015 build, the one the product ships.
  resolve: {
    alias: [{ find: /^rxjs$/, replacement: resolve(here, '../node_modules/rxjs/dist/esm/index.js') }],
  },
  build: {
    outDir: resolve(here, 'out'),
    emptyOutDir: true,
    target: 'es2022',
    // bench/profile.mjs builds unminified (BENCH_NO_MINIFY=1) so profiles name real functions.
    minify: process.env.BENCH_NO_MINIFY !== '1',
    modulePreload: false,
    reportCompressedSize: false,
    rollupOptions: {
      input: {
        index: resolve(here, 'page/index.html'),
        // The real app (createOutpost + App) for the app-path figure, on a page of its own.
        app: resolve(here, 'page/app.html'),
        'workbox-sw': resolve(here, 'page/workbox-sw.ts'),
        'workbox-heal-sw': resolve(here, 'page/workbox-heal-sw.ts'),
      },
      output: {
        // The worker must keep a stable name: the page registers it by URL.
        entryFileNames: (chunk) =>
          chunk.name.startsWith('workbox-') ? `${chunk.name}.js` : 'assets/[name]-[hash].js',
      },
    },
  },
});
