// Three projects, all run by the README's test command (scripts/test):
//   unit        colocated *.test.ts in packages/ and scripts/ (msw only for Vault faults)
//   integration test/integration: a real OpenBao dev server (started once by globalSetup)
//   e2e         test/e2e: real Erlang/Elixir nodes with Vault-issued certificates
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.test.json' }],
};
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFiles: ['reflect-metadata'],
  clearMocks: true,
  restoreMocks: true,
};
export default {
  transform,
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.mjs',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/scripts/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      testEnvironment: '<rootDir>/test/helpers/environment.mjs',
      testTimeout: 60000,
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      testEnvironment: '<rootDir>/test/helpers/environment.mjs',
      testTimeout: 120000,
    },
  ],
};
