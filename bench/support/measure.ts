/** Throughput measurement shared by the benchmarks: figures to print, never pass/fail. */
export interface Measurement {
  name: string;
  perSecond: number;
  msPerOp: number;
  iterations: number;
}

/** Runs `operation` one at a time for `seconds` (or `maxIterations`), after a warm-up (JIT, caches, templates). */
export async function measure(name: string, operation: () => unknown, seconds: number, maxIterations = Infinity): Promise<Measurement> {
  for (let i = 0; i < Math.min(20, maxIterations); i++) await operation();
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000 && iterations < maxIterations) {
    await operation();
    iterations++;
    elapsed = performance.now() - start;
  }
  return { name, perSecond: (iterations * 1000) / elapsed, msPerOp: elapsed / iterations, iterations };
}

/**
 * The machines are shared (2 cores), so one long run per operation is at the mercy of whatever else
 * runs at that moment: each operation gets `rounds` short runs, rotated with the others, and the
 * median run counts.
 */
export async function measureInterleaved(operations: Array<[string, () => unknown]>, seconds: number, rounds = 3): Promise<Measurement[]> {
  const runs: Measurement[][] = operations.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [index, [name, operation]] of operations.entries()) runs[index].push(await measure(name, operation, seconds / rounds));
  }
  return runs.map((measurements) => {
    const sorted = [...measurements].sort((x, y) => x.perSecond - y.perSecond);
    const total = measurements.reduce((sum, run) => sum + run.iterations, 0);
    return { ...sorted[Math.floor(sorted.length / 2)], iterations: total };
  });
}

/** `concurrency` operations in flight for `seconds`; operations per second over the whole run. */
export async function measureConcurrent(name: string, operation: () => Promise<unknown>, concurrency: number, seconds: number): Promise<Measurement> {
  for (let i = 0; i < 50; i++) await operation();
  let iterations = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await operation();
        iterations++;
      }
    }),
  );
  const elapsed = performance.now() - start;
  return { name, perSecond: (iterations * 1000) / elapsed, msPerOp: elapsed / iterations, iterations };
}
