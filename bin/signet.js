#!/usr/bin/env node
// Runs the compiled CLI when `npm run build` produced it, else the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

// File writes run on libuv's thread pool (4 threads by default). Creating files is slow on the
// machines measured (~1 ms per 200 KB document one at a time, 0.26 ms with 16 in parallel), and a
// batch upload creates thousands; the pool must be sized before its first use, so here.
process.env.UV_THREADPOOL_SIZE ??= '16';

const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
