// Three projects, all run by the README's test command (scripts/test):
//   unit        colocated *.test.ts in packages/ and scripts/ (msw only for Vault faults)
//   integration test/integration: a real OpenBao dev server (started once by globalSetup)
//   e2e         test/e2e: real Erlang/Elixir nodes with Vault-issued certificates
// The OpenBao global setup is a per-project option of integration and e2e only: jest runs a project's
// globalSetup only when at least one of its tests is selected, and runs one path once per run (both
// projects name the same module, so `--selectProjects integration e2e` starts one server). The unit
// project needs no server (`--selectProjects unit` starts none); its own global setup only takes the
// debris snapshot (test/helpers/debris.mjs: files the run leaves outside ignored folders, named by
// test file).
import { availableParallelism } from 'node:os';

/** The names after --selectProjects (jest's argv), [] when the option is absent. */
function selectedProjects(argv) {
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--selectProjects=')) out.push(...a.slice('--selectProjects='.length).split(','));
    else if (a === '--selectProjects') for (; i + 1 < argv.length && !argv[i + 1].startsWith('-'); i++) out.push(argv[i + 1]);
  }
  return out;
}
const selected = selectedProjects(process.argv);
// A unit-only run (`--selectProjects unit`, package.json test:unit) uses cores + 1 workers: its files
// are short, mostly CPU-bound, some wait on real timers (2 cores: 16.7 s in band, which is jest's
// default of cores − 1 = 1 worker there; 11.9 s with 2 workers; 8.4–8.7 s with 3; 9.1 s with 4).
// Runs that include integration or e2e keep jest's default, the load their timing bounds were
// measured under. An explicit --maxWorkers / --runInBand still wins.
const unitOnly = selected.length > 0 && selected.every((p) => p === 'unit');

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
  ...(unitOnly ? { maxWorkers: availableParallelism() + 1 } : {}),
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/scripts/**/*.test.ts'],
      testEnvironment: '<rootDir>/test/helpers/unit-environment.mjs',
      globalSetup: '<rootDir>/test/helpers/unit-global-setup.mjs',
      globalTeardown: '<rootDir>/test/helpers/unit-global-teardown.mjs',
    },
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
