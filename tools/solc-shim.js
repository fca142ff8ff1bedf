#!/usr/bin/env node
// Lets py-solc-x and Slither (crytic-compile) drive the pinned solcjs (WebAssembly, works offline) as if it were a
// native solc. It answers `--version` and `--standard-json` (input on stdin); other flags a native solc would take
// with them (--allow-paths DIR, --base-path DIR, --include-path DIR, ...) are accepted, the path ones widen the search
// for imports, the rest are ignored. solcjs' own CLI prints a warning on stdout, so we call its JS API instead.
//
// Sources may come by `content` (v2vchain.compiler inlines every import) or by `urls` (crytic-compile's
// --solc-standard-json): those files are read from disk, and imports that are not in the input are found by the
// callback under the working directory, the --base-path/--include-path/--allow-paths folders, the repo root,
// contracts/ and node_modules/ (so `@openzeppelin/contracts/...` is the pinned npm package). Relative imports reach
// the callback already resolved by solc against the importing file's name.
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const solc = require(path.join(ROOT, 'node_modules', 'solc'));

const PATH_FLAGS = new Set(['--allow-paths', '--base-path', '--include-path']);
const args = process.argv.slice(2);
const searchRoots = [];
for (let i = 0; i < args.length; i++) {
  const [flag, inline] = args[i].split(/=(.*)/s);
  if (!PATH_FLAGS.has(flag)) continue;
  const value = inline !== undefined ? inline : args[++i];
  if (value) searchRoots.push(...value.split(',').filter(Boolean));
}
const roots = [process.cwd(), ...searchRoots, ROOT, path.join(ROOT, 'contracts'), path.join(ROOT, 'node_modules')]
  .map((r) => path.resolve(r));

function findFile(name) {
  if (path.isAbsolute(name)) return fs.existsSync(name) && fs.statSync(name).isFile() ? name : null;
  for (const root of roots) {
    const candidate = path.join(root, name);
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return null;
}

function findImports(name) {
  const file = findFile(name);
  if (file === null) return { error: `solc-shim: ${name} not found under ${roots.join(', ')}` };
  return { contents: fs.readFileSync(file, 'utf8') };
}

// `urls` sources become `content` sources; a missing file stays a url so solc reports it as any solc would.
function inlineUrls(input) {
  for (const [name, source] of Object.entries(input.sources || {})) {
    if (source.content !== undefined || !Array.isArray(source.urls)) continue;
    for (const url of source.urls) {
      const file = findFile(url);
      if (file !== null) {
        input.sources[name] = { ...source, content: fs.readFileSync(file, 'utf8') };
        delete input.sources[name].urls;
        break;
      }
    }
  }
  return input;
}

if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
} else if (args.includes('--standard-json')) {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    let input;
    try {
      input = inlineUrls(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch (err) {
      // let solc report malformed input in its own standard-json error format
      process.stdout.write(solc.compile(Buffer.concat(chunks).toString('utf8')));
      return;
    }
    process.stdout.write(solc.compile(JSON.stringify(input), { import: findImports }));
  });
} else {
  process.stderr.write('solc-shim: only --version and --standard-json are supported\n');
  process.exit(2);
}
