#!/usr/bin/env node
// Runs the compiled CLI when `npm run build` produced it, else the TypeScript sources through tsx.
//
// CommonJS on purpose (bin/package.json): file writes and fsyncs run on libuv's thread pool (4
// threads by default); creating files one at a time cost ~1 ms per 200 KB document on the machines
// measured and 0.26 ms with 16 in parallel. The pool is sized once, at its first use, and an ES
// module entry is read through the pool before its first line runs: set there, the size came too late
// and the service ran with 4 threads. A CommonJS entry is read synchronously. test/cli.test.ts checks.
// (On the 2-core machines here bench/batch-http.ts and bench/registrations.ts showed no difference
// between 4 and 16 threads; more cores and slower disks are where the larger pool counts.)
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '16';

const { existsSync } = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

async function main() {
  const compiled = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
  if (existsSync(compiled)) {
    await import(pathToFileURL(compiled).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(pathToFileURL(path.join(__dirname, '..', 'src', 'cli', 'main.ts')).href);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
