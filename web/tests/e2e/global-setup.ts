// One `vspread demo` for the whole browser suite: started before the first
// test file, stopped after the last. The files share it through `inject('demo')`.
import type { TestProject } from 'vitest/node';
import { startDemo, type Demo, type RunningDemo } from './harness';

declare module 'vitest' {
  export interface ProvidedContext {
    demo: Demo;
  }
}

let demo: RunningDemo | undefined;

export async function setup(project: TestProject): Promise<void> {
  demo = await startDemo();
  console.log(`vspread demo (pid ${demo.pid}) at ${demo.url}, data in ${demo.dataDir}`);
  project.provide('demo', { url: demo.url, token: demo.token, dataDir: demo.dataDir, configPath: demo.configPath, pid: demo.pid });
}

export async function teardown(): Promise<void> {
  await demo?.stop();
}
