/**
 * A child-process entry for the kill -9 test of the store (src/node/ingest.test.ts), run on the TypeScript sources
 * (`node --import tsx test/support/ingest-child.ts <store> <run> <log>`): follows the log into the DuckDB store and
 * prints `committed <samples>` on stdout after every committed batch, until it is killed.
 * @module
 */
import { openDuckDbStore } from '../../src/node/duckdb-store.js';
import { ingestLog } from '../../src/node/ingest.js';

const [storePath, run, logPath] = process.argv.slice(2);
if (storePath === undefined || run === undefined || logPath === undefined) {
  process.stderr.write('usage: ingest-child.ts <store> <run> <log>\n');
  process.exit(2);
}
const store = await openDuckDbStore(storePath);
process.stdout.write('open\n');
await ingestLog(store, run, logPath, {
  follow: true,
  pollMs: 10,
  onCommit: ({ samples }) => process.stdout.write(`committed ${samples}\n`),
});
