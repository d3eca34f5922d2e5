// `npm run build`: tsc compiles src/ into dist/ (type-checked, one file per module), then esbuild bundles what
// bin/contower.js runs into dist/bundle/: minified ESM chunks, split so that each command's lazy import() still loads
// only its own code (docs/footprint.md, "Start-up"). Fewer, smaller files to read, compile and keep as source
// strings is what lowers start-up time and idle memory.
//
//   npm run build [-- --outDir DIR]      (default dist; scripts/docker-smoke.sh builds into a temp dir)
//
// Kept out of the bundle and loaded from node_modules at run time: EXTERNAL below. Nothing else is: a package kept
// external brings its own copies of the dependencies it shares with the bundle (libp2p-quic's @libp2p/*, noble
// curves), unminified. esbuild fails the build on a `.node` file it would have to bundle, and this script on a
// bundled `__dirname` or `__filename` (undefined in an ES module): either means one more package for EXTERNAL.
// dist/bundle/chunks.json says which packages each chunk holds (test/e2e/startup.test.ts).
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Metafile, type Plugin } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)

/**
 * Packages a bundle cannot hold. The native loaders of hashtree, @node-rs/crc32 and bigint-buffer2 (CommonJS) find
 * their `.node` file beside themselves through `__dirname` (libp2p-quic's is bundled: it is an ES module that loads
 * its binary through its own `createRequire` and, from the bundle, finds the platform package by name). ioredis
 * (fleet mode only) reads its package.json through `__dirname`.
 */
const EXTERNAL = ['@chainsafe/hashtree', '@node-rs/crc32', '@vekexasia/bigint-buffer2', 'ioredis']

/**
 * Bundled packages whose `__dirname` serves only a feature Contower does not use: pino's transports (worker threads
 * loading worker files; Contower logs through pino.destination or an in-process pino-pretty, src/logger.ts). There
 * `__dirname` becomes an expression that throws, so the feature fails loudly if it is ever used. Bundled, pino
 * (CommonJS) idles ~3–5 MB lower than loaded from node_modules.
 */
const NO_DIRNAME = /\/node_modules\/(pino|thread-stream)\/[^/].*\.js$/

/**
 * The entry points, as tsc emits them (relative to the out dir): what bin/contower.js imports, and the block root
 * worker's file, which src/chain/blockRootHasher.ts finds beside its own chunk.
 */
const ENTRIES = { gcTuning: 'gcTuning.js', cli: 'cli/index.js', blockRootWorker: 'chain/blockRootWorker.js' }

/** CommonJS packages call `require`, which an ES module lacks: each chunk gets one made for its own URL. */
const BANNER =
  "import { createRequire as __contowerCreateRequire } from 'node:module';" +
  'const require = __contowerCreateRequire(import.meta.url);'

function outDirArg(argv: string[]): string {
  const i = argv.indexOf('--outDir')
  if (i < 0) return join(ROOT, 'dist')
  if (!argv[i + 1]) throw new Error('build: --outDir needs a directory')
  return resolve(argv[i + 1]!)
}

/** The package name of a bare import specifier (`@scope/name/sub` → `@scope/name`), or null for a path. */
function packageName(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

const externals: Plugin = {
  name: 'contower-externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = packageName(args.path)
      return name !== null && EXTERNAL.includes(name) ? { path: args.path, external: true } : undefined
    })
    b.onLoad({ filter: NO_DIRNAME }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const unavailable = `(() => { throw new Error(${JSON.stringify(`pino transports are not in contower's bundle (${relative(ROOT, args.path)})`)}) })()`
      return { contents: source.replace(/\b__dirname\b/g, unavailable), loader: 'js' }
    })
  },
}

/** Which packages (and `contower` for our own modules) each output file holds, by file name. */
function chunkPackages(metafile: Metafile, bundleDir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (!file.endsWith('.js')) continue
    const packages = new Set<string>()
    for (const input of Object.keys(output.inputs)) {
      packages.add(/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? 'contower')
    }
    out[relative(bundleDir, resolve(ROOT, file))] = [...packages].sort()
  }
  return out
}

const COMMONJS_PATH = /\b__(dirname|filename)\b/

/**
 * In an ES module `__dirname` and `__filename` are not defined: a bundled package that uses them would throw. The
 * output is minified, which renames local variables of those names (yargs declares one), so what is left is a free
 * reference, a property name or text: reported either way, to be looked at.
 */
function checkNoCommonJsPaths(metafile: Metafile, bundleDir: string): void {
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (!file.endsWith('.js') || !COMMONJS_PATH.test(readFileSync(resolve(ROOT, file), 'utf8'))) continue
    const users = Object.keys(output.inputs).filter((input) =>
      COMMONJS_PATH.test(readFileSync(resolve(ROOT, input), 'utf8')),
    )
    throw new Error(
      `build: ${relative(bundleDir, resolve(ROOT, file))} uses __dirname or __filename, from ${users.join(', ')}: add the package to EXTERNAL`,
    )
  }
}

const outDir = outDirArg(process.argv.slice(2))
const bundleDir = join(outDir, 'bundle')
const tsc = require.resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT, stdio: 'inherit' })
rmSync(bundleDir, { recursive: true, force: true })
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, join(outDir, file)])),
  outdir: bundleDir,
  // An out dir outside the checkout (scripts/docker-smoke.sh) has no node_modules above it: take the checkout's.
  nodePaths: [join(ROOT, 'node_modules')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // Names stay as written: error classes and libraries compare `name` and `constructor.name`.
  keepNames: true,
  legalComments: 'none',
  sourcemap: 'linked',
  sourcesContent: false,
  banner: { js: BANNER },
  plugins: [externals],
  metafile: true,
  logLevel: 'warning',
})
checkNoCommonJsPaths(result.metafile, bundleDir)
const chunks = chunkPackages(result.metafile, bundleDir)
writeFileSync(join(bundleDir, 'chunks.json'), `${JSON.stringify(chunks, null, 1)}\n`)
const bytes = Object.entries(result.metafile.outputs).reduce((n, [f, o]) => n + (f.endsWith('.js') ? o.bytes : 0), 0)
console.log(
  `bundle: ${Object.keys(chunks).length} chunks, ${(bytes / 1e6).toFixed(2)} MB in ${relative(ROOT, bundleDir)}`,
)
