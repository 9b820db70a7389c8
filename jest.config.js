/** One runner, three suites mirroring the code: unit, integration (DynamoDB Local, in-process SQS, real HTTP), infra (CDK). */
const swc = ['@swc/jest', { jsc: { target: 'es2022' } }];
const common = {
  testEnvironment: 'node',
  // fauxqs (the in-process SQS) and @middy/core ship ES modules only; compile them to CommonJS like our own code.
  transform: { '^.+\\.tsx?$': swc, '/node_modules/(fauxqs|@middy/core)/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(fauxqs|@middy/core)/)'],
  moduleNameMapper: { '^fauxqs$': '<rootDir>/node_modules/fauxqs/dist/app.js' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
  ],
  testTimeout: 30000,
};
