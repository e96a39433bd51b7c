// Entry point of dist/edgewatch-collector.js.
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`edgewatch-collector: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
