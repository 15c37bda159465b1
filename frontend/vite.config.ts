// Vite builds into dist/, which Django serves through whitenoise at STATIC_URL (/static/);
// in development `npm run dev` proxies the API and websockets to the Django server.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

const backend = process.env.WAYMARK_BACKEND ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/static/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    proxy: {
      '/api': { target: backend },
      '/ws': { target: backend, ws: true },
    },
  },
  test: { environment: 'node', include: ['src/**/*.test.{ts,tsx}'] },
});
