// Three projects, all run by the README's test command (scripts/test):
//   unit        colocated *.test.ts in packages/ and scripts/ (msw only for Vault faults)
//   integration test/integration: a real OpenBao dev server (started once by globalSetup)
//   e2e         test/e2e: real Erlang/Elixir nodes with Vault-issued certificates
// The OpenBao global setup is a per-project option of integration and e2e only: jest runs a project's
// globalSetup only when at least one of its tests is selected, and runs one path once per run (both
// projects name the same module, so `--selectProjects integration e2e` starts one server). The unit
// project needs no server (`--selectProjects unit` starts none).
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
const withOpenBao = {
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.mjs',
};
export default {
  transform,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/scripts/**/*.test.ts'] },
    {
      ...common,
      ...withOpenBao,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      testEnvironment: '<rootDir>/test/helpers/environment.mjs',
      testTimeout: 60000,
    },
    {
      ...common,
      ...withOpenBao,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      testEnvironment: '<rootDir>/test/helpers/environment.mjs',
      testTimeout: 120000,
    },
  ],
};
