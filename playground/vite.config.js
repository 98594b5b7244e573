// Builds the playground into dist/, which the router embeds and serves at `/`.
// Everything the page loads (scripts, styles, fonts, Monaco's workers) ends up
// in dist/assets and is served from the router's own origin: no CDN.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  // Relative asset URLs, so the page also works behind a path prefix.
  base: './',
  plugins: [react()],
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Inline nothing as data: URLs except tiny icons; keeps the CSP simple.
    assetsInlineLimit: 1024,
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
    rolldownOptions: {
      // React libraries' "use client"/"use no memo" directives mean nothing here.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
