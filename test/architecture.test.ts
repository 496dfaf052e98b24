import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

/**
 * The layering DESIGN.md describes, read from the source's own imports: no module imports itself back
 * through others (a cycle), the trust machinery (crypto/) never reaches up into the use cases or
 * the adapters above them, and the adapters (http/) see the store only through the core's types.
 */

const source = path.join(import.meta.dirname, '../src');

function modules(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const full = path.join(folder, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (full.endsWith('.ts')) files.push(full);
    }
  };
  walk(source);
  return new Map(
    files.map((file) => [
      path.relative(source, file),
      [...readFileSync(file, 'utf8').matchAll(/^(?:import|export) (?:type )?[^;]*? from '(\.[^']+)'/gms)].map((match) =>
        path.relative(source, path.join(path.dirname(file), match[1]!.replace(/\.js$/, '.ts'))),
      ),
    ]),
  );
}

test('no import cycles among the modules of src/', () => {
  const graph = modules();
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, stack: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...stack.slice(stack.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const dependency of graph.get(file) ?? []) visit(dependency, [...stack, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('crypto/ imports nothing from core/, http/ or cli/', () => {
  const upward = [...modules()].flatMap(([file, dependencies]) =>
    file.startsWith('crypto/') ? dependencies.filter((dependency) => /^(core|http|cli)\//.test(dependency)).map((dependency) => `${file} → ${dependency}`) : [],
  );
  assert.deepEqual(upward, []);
});

test('http/ imports nothing from store/', () => {
  const reaching = [...modules()].flatMap(([file, dependencies]) =>
    file.startsWith('http/') ? dependencies.filter((dependency) => dependency.startsWith('store/')).map((dependency) => `${file} → ${dependency}`) : [],
  );
  assert.deepEqual(reaching, []);
});
