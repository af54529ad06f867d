import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The files run in name order: the live views first (they wait for the demo's first fill), then the config workflow. */
class ByName extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

// Browser tests: Debian's chromium driven by playwright-core against one real
// `vspread demo` process (started by the global setup), one file at a time.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts'],
    globalSetup: ['tests/e2e/global-setup.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    sequence: { shuffle: false, sequencer: ByName },
    // The demo acts on its own schedule: an apply or a pause waits for the
    // decision cycle in flight (an order being walked) to finish.
    expect: { poll: { timeout: 20_000, interval: 100 } },
  },
});
