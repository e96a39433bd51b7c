// esbuild inject: `import.meta.url` has no meaning in a CommonJS bundle; give it the bundle's own URL.
export const __ew_import_meta_url = require('url').pathToFileURL(__filename).href;
