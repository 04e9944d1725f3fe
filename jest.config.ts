import type { Config } from 'jest';

const shared = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  // tsconfig's isolatedModules makes ts-jest transpile only; type-checking is `npm run typecheck`.
  moduleNameMapper: { '^@activity-logger/shared$': '<rootDir>/services/shared/src/index.ts' },
} satisfies Config;

const config: Config = {
  // Integration tests wait on a real broker and store; a rebalance alone can take seconds.
  testTimeout: 120_000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      // The viewer's browser code too: its logic (paging, the tail's resume) needs no browser.
      testMatch: ['<rootDir>/services/*/src/**/*.test.ts', '<rootDir>/services/*/viewer/src/**/*.test.ts'],
    },
    {
      ...shared,
      // The deployment files (k8s/, compose, dashboards) against the code; needs no server.
      displayName: 'deploy',
      testMatch: ['<rootDir>/test/deploy/**/*.test.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/services/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/deploy/'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};

export default config;
