// Seeded generator of inference logs for tests, the process test and benchmarks. Good records follow
// realistic distributions (drift optional, from a chosen record on); every malformed line names the
// rejection reason the agent's parser must give it. Same options, same bytes; good records depend only
// on the options that shape them, never on the bad/blank/CRLF rates (those draw from their own stream).

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { helpText, parseCli } from './gen-logs/options.js';
import { writeLogFile, writeLogStream, type GenSummary } from './gen-logs/write.js';

// The library, split by stage under gen-logs/; this file is its public face and the CLI.
export { describeDataset, type CategoricalFeatureSpec, type DatasetSchema, type NumericFeatureSpec } from './gen-logs/dataset.js';
export { generateLines, type GenLine } from './gen-logs/lines.js';
export { helpText, malformedKindsFor, parseCli, resolveOptions, type GenOptions, type ResolvedGenOptions } from './gen-logs/options.js';
export { writeLogFile, writeLogStream, type GenSummary } from './gen-logs/write.js';

async function main(argv: string[]): Promise<number> {
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\nTry --help.\n`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  const started = performance.now();
  let summary: GenSummary;
  if (cli.out !== null) summary = writeLogFile(cli.out, cli.options);
  else {
    // A closed pipe (`| head`) ends the run quietly, like other line tools.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));
    summary = await writeLogStream(process.stdout, cli.options);
  }
  const elapsed_ms = Math.round(performance.now() - started);
  process.stderr.write(JSON.stringify({ out: cli.out, ...summary, elapsed_ms }) + '\n');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`gen-logs: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
