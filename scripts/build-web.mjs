// Bundles the collector's fleet page (collector/web) into dist/web: app.js (one minified script,
// uPlot included), app.css (uPlot's CSS and the page's) and index.html. Nothing is fetched from a
// CDN: the collector serves these three files and the page's CSP allows nothing else.
// Run by `npm run build`; tests import buildWeb() to build into a folder of their own.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds the page into `outDir` (default dist/web) and answers the files written with their sizes.
 * @param {{ outDir?: string }} [opts]
 * @returns {Promise<{ outDir: string, files: Record<string, number> }>}
 */
export async function buildWeb(opts = {}) {
  const outDir = opts.outDir ?? path.join(root, 'dist/web');
  fs.mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: { app: path.join(root, 'collector/web/app.ts') },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'chrome110',
    platform: 'browser',
    // app.ts imports uPlot's CSS and the page's: esbuild writes them together as app.css.
    loader: { '.css': 'css' },
    legalComments: 'none',
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(root, 'collector/web/index.html'), path.join(outDir, 'index.html'));
  const files = {};
  for (const name of ['index.html', 'app.js', 'app.css']) files[name] = fs.statSync(path.join(outDir, name)).size;
  return { outDir, files };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { outDir, files } = await buildWeb();
  process.stdout.write(`web page in ${path.relative(root, outDir)}: ${Object.entries(files).map(([n, s]) => `${n} ${s} B`).join(', ')}\n`);
}
