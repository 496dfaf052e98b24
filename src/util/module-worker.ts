import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on one of our modules, given its URL without extension (e.g.
 * `new URL('./xades-worker', import.meta.url)`): the compiled `.js` under dist/, the `.ts` source
 * when running from source.
 *
 * From TypeScript: under `node --import tsx` a worker inherits `--import tsx` in its execArgv, but on
 * Node 20 the loader hooks it registers do not apply to the worker's entry module
 * (ERR_UNKNOWN_FILE_EXTENSION for .ts, checked on 20.20), so a .ts entry is started through a one-line
 * bootstrap that registers tsx's ESM hooks first.
 */
export function startModuleWorker(callerUrl: string, entry: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`${entry}.js`, callerUrl), options);
  const source = new URL(`${entry}.ts`, callerUrl).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })` +
    '.catch((error) => { process.nextTick(() => { throw error; }); });';
  return new Worker(bootstrap, { ...options, eval: true });
}
