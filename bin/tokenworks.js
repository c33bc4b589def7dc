#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (npm install builds dist/ through the prepare script).
// `--version` alone is answered before the CLI loads: it needs none of it.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { VERSION } = await import('../dist/version.js');
  process.stdout.write(`${VERSION}\n`);
} else {
  const { main } = await import('../dist/cli/main.js');
  await main(argv);
}
