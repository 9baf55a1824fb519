import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const backendModule = (name: string) =>
  fileURLToPath(new URL(`./src/sw/backend/${name}.ts`, import.meta.url));

/**
 * Two builds come out of this file: the app and, through vite-plugin-pwa's injectManifest, the service worker
 * (src/sw/sw.ts → sw.js). The worker build inherits `define` and `resolve`, which is how demo mode reaches it:
 * the `#sw-backend` alias picks the in-worker mock backend (msw) for demo and dev, and a no-op module for
 * production, so msw is never even parsed into the production worker (service workers cannot lazily
 * `import()`, so a static choice at build time is the only way to keep it out).
 */
/**
 * The built page may load and talk to its own origin only (plus the sync endpoint when VITE_SYNC_URL names
 * another origin). Added at build time only: the dev server injects inline scripts for hot reload.
 */
function contentSecurityPolicy(syncUrl: string | undefined): Plugin {
  const syncOrigin = syncUrl && /^https?:\/\//.test(syncUrl) ? ` ${new URL(syncUrl).origin}` : '';
  const policy = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${syncOrigin}`,
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ');
  return {
    name: 'outpost-csp',
    apply: 'build',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: policy },
        injectTo: 'head-prepend',
      },
    ],
  };
}

export default defineConfig(({ command, mode }) => {
  const env = loadEnv(mode, process.cwd(), 'VITE_');
  const demo = mode === 'demo' || command === 'serve' || env.VITE_DEMO === 'true' || env.VITE_DEMO === '1';
  return {
    plugins: [
      react(),
      contentSecurityPolicy(env.VITE_SYNC_URL),
      VitePWA({
        strategies: 'injectManifest',
        srcDir: 'src/sw',
        filename: 'sw.ts',
        // The page registers the worker itself (src/outbox/page/register-worker.ts) so it controls the update prompt.
        injectRegister: false,
        registerType: 'prompt',
        manifest: {
          name: 'Outpost',
          short_name: 'Outpost',
          description: 'Order entry that keeps working without a connection.',
          start_url: '/',
          scope: '/',
          display: 'standalone',
          theme_color: '#0f4c81',
          background_color: '#ffffff',
          icons: [
            { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
            { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
            { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          ],
        },
        injectManifest: {
          // STACK.md: the plugin adds the webmanifest itself; listing it here would precache it twice.
          globPatterns: ['**/*.{js,css,html,png,svg,ico}'],
          maximumFileSizeToCacheInBytes: 4 * 1024 * 1024,
        },
        devOptions: { enabled: true, type: 'module', navigateFallback: 'index.html' },
      }),
    ],
    define: {
      __OUTPOST_DEMO__: JSON.stringify(demo),
    },
    resolve: {
      alias: [
        { find: '#sw-backend', replacement: backendModule(demo ? 'demo-backend' : 'no-backend') },
        // rxjs's default export is its ES5 build (down-levelled classes that import tslib's helpers); its
        // ES2015 build is the same API with native classes, and every browser that runs the app runs it.
        {
          find: /^rxjs$/,
          replacement: fileURLToPath(new URL('./node_modules/rxjs/dist/esm/index.js', import.meta.url)),
        },
      ],
    },
    build: {
      // Every browser that can run the app (service worker, Web Locks, ES2020 modules) supports
      // `<link rel="modulepreload">`; the polyfill would only add bytes to the first screen's JavaScript.
      modulePreload: { polyfill: false },
    },
    preview: { host: '127.0.0.1' },
  };
});
