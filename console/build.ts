import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { CONSOLE_PAGE } from '../shared/api/console-assets';

/**
 * Bundles the admin console (Preact, TypeScript, one style sheet) into `outDir`: index.html, app.js,
 * app.css — what the api function serves at /console. Run by the local runtime on start and by the
 * CDK bundling of the api function (`node --import tsx console/build.ts <outDir>`).
 */
const SOURCE = __dirname;

export async function buildConsole(outDir: string): Promise<string> {
  const target = resolve(outDir);
  await mkdir(target, { recursive: true });
  await build({
    // main.tsx imports styles.css, so esbuild writes app.css beside app.js.
    entryPoints: { app: join(SOURCE, 'app', 'main.tsx') },
    outdir: target,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(SOURCE, 'tsconfig.json'),
    legalComments: 'none',
    logLevel: 'warning',
  });
  await copyFile(join(SOURCE, CONSOLE_PAGE), join(target, CONSOLE_PAGE));
  return target;
}

if (require.main === module) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node --import tsx console/build.ts <outDir>');
    process.exit(2);
  }
  buildConsole(outDir).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
