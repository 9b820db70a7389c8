/**
 * Builds each function's bundle as the stack does and measures it: size, and module init time
 * (importing the built bundle in a fresh Node process, best of 3).
 *
 * The AWS SDK is external in the Lambda bundles (the runtime ships it), so the bundle's import also
 * loads the SDK packages it names, from node_modules here as from the runtime there. Each run
 * imports those SDK packages first ("sdk"), then the bundle ("own": our code and the bundled
 * dependencies); "init" is the sum, and the best run is the one with the smallest sum.
 *
 *   npm run bundle:init [-- --runs 3]
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE } from '../infra/bundle';

const ROOT = join(__dirname, '..');
// Inside the project, so the external SDK imports resolve from its node_modules.
const OUT = join(ROOT, 'node_modules', '.cache', 'bundle-init');

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive whole number');

interface Init {
  readonly sdkMs: number;
  readonly ownMs: number;
}

/**
 * One fresh Node process: imports the SDK packages the bundle names, then the bundle. As the SDK
 * is then cached, the second import is what the bundle adds; the two together are its init time.
 */
function measureInit(bundle: string, sdk: readonly string[]): Init {
  const script = [
    'let t = performance.now();',
    `for (const s of ${JSON.stringify(sdk)}) await import(s);`,
    'const sdkMs = performance.now() - t; t = performance.now();',
    `await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    'console.log(JSON.stringify({ sdkMs, ownMs: performance.now() - t }));',
  ].join('\n');
  // The functions' environment is not needed: settings are read on the first invocation, not at import.
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: OUT, encoding: 'utf8', env: { ...process.env, AWS_REGION: 'us-east-1' } });
  return JSON.parse(out.trim().split('\n').pop()!) as Init;
}

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  const names = readdirSync(join(ROOT, 'functions')).filter((name) => statSync(join(ROOT, 'functions', name)).isDirectory()).sort();
  const rows = [];
  for (const name of names) {
    const outfile = join(OUT, name, 'index.mjs');
    const result = await build({
      entryPoints: [join(ROOT, 'functions', name, 'handler.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: `node${process.versions.node.split('.')[0]}`,
      minify: true,
      mainFields: [...LAMBDA_BUNDLE.mainFields],
      external: [...LAMBDA_BUNDLE.external],
      banner: { js: LAMBDA_BUNDLE.banner },
      metafile: true,
      logLevel: 'warning',
    });
    const sdk = [...new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external && i.kind !== 'dynamic-import' && i.path.startsWith('@aws-sdk/')).map((i) => i.path)))].sort();
    const best = Array.from({ length: runs }, () => measureInit(outfile, sdk)).sort((a, b) => a.sdkMs + a.ownMs - (b.sdkMs + b.ownMs))[0]!;
    const sdkNames = sdk.map((s) => s.replace('@aws-sdk/', '')).join(' ');
    rows.push({ function: name, kB: Math.round(statSync(outfile).size / 1024), initMs: Math.round(best.sdkMs + best.ownMs), sdkMs: Math.round(best.sdkMs), ownMs: Math.round(best.ownMs), sdk: sdkNames });
  }
  console.log(`module init, best of ${runs}, Node ${process.versions.node}; sizes minified without source maps`);
  console.table(rows);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
