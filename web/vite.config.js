import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import tailwindcss from '@tailwindcss/vite';

// `npm run dev` serves the page with hot reload and forwards /api to a
// running gateway (scripts/demo.sh starts one on :8080; LEDGER_GATEWAY_URL
// points elsewhere). The gateway itself serves the built page (dist/) at /.
const gateway = process.env.LEDGER_GATEWAY_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [vue(), tailwindcss()],
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets' },
  server: {
    proxy: { '/api': { target: gateway, changeOrigin: false } },
  },
  test: {
    include: ['src/**/*.test.js'],
    environment: 'node',
  },
});
