// V8 keeps a script's source for as long as its functions live, one byte a character only while
// every character is Latin-1; a single other one (say a dash in a dependency's comment, which esbuild
// passes through) makes the whole bundle two bytes a character: +1 MB of heap per MB of bundle.
// Both builds (scripts/build.mjs, scripts/build-binary.mjs) refuse such a bundle.
import fs from 'node:fs';

/** Throws, naming the line and the character, when `file` holds a character outside Latin-1. */
export function assertLatin1(file, shown = file) {
  const source = fs.readFileSync(file, 'utf8');
  const wide = /[^\u0000-\u00ff]/.exec(source);
  if (!wide) return;
  const line = source.slice(0, wide.index).split('\n').length;
  throw new Error(`${shown}:${line}: non-Latin-1 character U+${wide[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}; V8 would hold the whole bundle as UTF-16 (twice the memory). Keep it out of the bundle (external) or escape it.`);
}
