// The version printed by --version: set by the build (package.json version + commit), read from
// package.json when running from source.
import { createRequire } from 'node:module';

declare const __EW_VERSION__: string | undefined;

function sourceVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
    return `${pkg.version} (source)`;
  } catch {
    return 'unknown';
  }
}

export const VERSION: string = typeof __EW_VERSION__ === 'string' ? __EW_VERSION__ : sourceVersion();
