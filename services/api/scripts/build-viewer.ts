/**
 * Builds the viewer (services/api/viewer) into the folder the API serves it from
 * (services/api/dist/public/viewer): one bundled, minified script from its TypeScript, its page
 * and its stylesheet. esbuild takes about a tenth of a second, so tests and `npm run dev` simply
 * build it when it is missing or older than its sources.
 *
 *   tsx services/api/scripts/build-viewer.ts            build
 *   tsx services/api/scripts/build-viewer.ts --if-stale only when missing or out of date
 *   tsx services/api/scripts/build-viewer.ts --watch    rebuild on every change (npm run dev)
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { build, context, type BuildOptions } from 'esbuild';
import { VIEWER_ASSETS_DIR } from '../src/viewer/assets';

export const VIEWER_SOURCE_DIR = path.resolve(__dirname, '../viewer');

const options: BuildOptions = {
  entryPoints: [
    { in: path.join(VIEWER_SOURCE_DIR, 'src/main.ts'), out: 'viewer' },
    { in: path.join(VIEWER_SOURCE_DIR, 'viewer.css'), out: 'viewer' },
    { in: path.join(VIEWER_SOURCE_DIR, 'index.html'), out: 'index' },
  ],
  outdir: VIEWER_ASSETS_DIR,
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'iife',
  platform: 'browser',
  // Browsers of the last few years; the page uses fetch streams, <dialog> and optional chaining.
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  loader: { '.html': 'copy' },
  logLevel: 'warning',
};

/** Every file the build reads, for the staleness check. */
async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

async function modified(file: string): Promise<number | undefined> {
  return stat(file).then(
    (info) => info.mtimeMs,
    () => undefined,
  );
}

/** Missing, or some source is newer than the built script or page. */
export async function viewerBuildIsStale(): Promise<boolean> {
  const built = await Promise.all(
    ['viewer.js', 'viewer.css', 'index.html'].map((name) => modified(path.join(VIEWER_ASSETS_DIR, name))),
  );
  if (built.some((time) => time === undefined)) return true;
  const oldest = Math.min(...(built as number[]));
  const sources = await Promise.all((await sourceFiles(VIEWER_SOURCE_DIR)).map(modified));
  return sources.some((time) => time !== undefined && time > oldest);
}

export async function buildViewer(): Promise<void> {
  await build(options);
}

/** Builds unless the build is there and newer than every source; says whether it built. */
export async function buildViewerIfStale(): Promise<boolean> {
  if (!(await viewerBuildIsStale())) return false;
  await buildViewer();
  return true;
}

async function cli(argv: readonly string[]): Promise<void> {
  if (argv.includes('--watch')) {
    const watching = await context(options);
    await watching.watch();
    process.stdout.write(`viewer: watching ${path.relative(process.cwd(), VIEWER_SOURCE_DIR)}\n`);
    return;
  }
  const built = argv.includes('--if-stale') ? await buildViewerIfStale() : (await buildViewer(), true);
  const where = path.relative(process.cwd(), VIEWER_ASSETS_DIR);
  process.stdout.write(built ? `viewer: built into ${where}\n` : `viewer: ${where} is up to date\n`);
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`viewer: build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
