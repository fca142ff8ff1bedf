#!/usr/bin/env node
// Lets py-solc-x drive the pinned solcjs (WebAssembly, works offline) as if it were a native solc.
// It answers the two calls py-solc-x makes: `--version` and `--standard-json` (input on stdin).
// solcjs' own CLI prints a warning on stdout, so we call its JS API instead.
const path = require('path');
const solc = require(path.join(__dirname, '..', 'node_modules', 'solc'));

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
} else if (args.includes('--standard-json')) {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => process.stdout.write(solc.compile(Buffer.concat(chunks).toString('utf8'))));
} else {
  process.stderr.write('solc-shim: only --version and --standard-json are supported\n');
  process.exit(2);
}
