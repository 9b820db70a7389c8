/**
 * How every function is bundled, apart from what CDK decides itself: read by the functions
 * (infra/lambda.ts) and by the init-time measurement (scripts/bundle-init.ts), so both see one bundle.
 */
export const LAMBDA_BUNDLE = {
  /** The Node runtime ships AWS SDK v3; bundling it would only grow the package. */
  external: ['@aws-sdk/*'],
  /** ESM bundles still meet CommonJS dependencies that call `require`; give them one. */
  banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  mainFields: ['module', 'main'],
} as const;
