// Two jest projects: `unit` (specs next to the code, no servers) and `integration`
// (test/ folders, real Redis/Kafka/Cassandra from deploy/local; run in band) and
// `restart` (stops and restarts the stack; runs last, on its own).
const preset = require('./jest.preset');

module.exports = {
  projects: [
    {
      ...preset,
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/{apps,libs}/**/src/**/*.spec.ts', '<rootDir>/scripts/**/*.spec.ts'],
    },
    {
      ...preset,
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/{apps,libs}/*/test/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/setup-timeout.ts'],
    },
    {
      ...preset,
      displayName: 'restart',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/restart/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/setup-timeout.ts'],
    },
  ],
};
