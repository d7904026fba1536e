// Builds the web UI into OUT (default: dist/): index.html, app.js and app.css
// (bundled and minified by esbuild, ansi_up included), favicon.svg. The queue's
// build embeds those files in the binary (queue/embed.cmake).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, 'dist'));
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, 'src/app.js'), join(here, 'src/app.css')],
  outdir: out,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'none',
  logLevel: 'warning',
});
for (const f of ['index.html', 'favicon.svg'])
  copyFileSync(join(here, 'src', f), join(out, f));
