/**
 * COPYTRUST SOAP against the native REST route, same run, same store (prints figures and the ratio,
 * not a verdict): N small-file registrations (distinct 1 KB contents) from 32 concurrent clients, end
 * to end until every task is SUCCEEDED with a RID — once through POST /v1/registrations/file (JSON),
 * once through SubmitFileRegistrationTask (SOAP 1.1, inline base64). Issue 14's goal: SOAP ≥ 0.8× REST.
 * The order alternates over the rounds so that neither surface always runs on a warmer machine.
 *
 *   node --import tsx bench/soap.ts [count=3000] [rounds=2] [store=sqlite]
 */
import { registrationLoad, type RegistrationSurface } from './support/registration-load.js';

const COUNT = Number(process.argv[2] ?? 3000);
const ROUNDS = Number(process.argv[3] ?? 2);
const STORE = (process.argv[4] ?? 'sqlite') as 'sqlite' | 'postgres';

console.log(`${COUNT} small-file registrations per run, 32 concurrent clients, ${STORE}, Node ${process.version}`);
const best: Record<RegistrationSurface, number> = { rest: 0, soap: 0 };
for (let round = 0; round < ROUNDS; round++) {
  const order: RegistrationSurface[] = round % 2 === 0 ? ['rest', 'soap'] : ['soap', 'rest'];
  for (const surface of order) {
    const result = await registrationLoad({ count: COUNT, store: STORE, surface });
    best[surface] = Math.max(best[surface], result.registeredPerSecond);
    console.log(
      `  round ${round + 1} ${surface.padEnd(4)} accepted ${result.acceptedPerSecond.toFixed(0)}/s; all registered in ${result.totalMs.toFixed(0)} ms: ` +
        `${result.registeredPerSecond.toFixed(0)}/s end to end`,
    );
  }
}
console.log(`  best of ${ROUNDS}: REST ${best.rest.toFixed(0)}/s, SOAP ${best.soap.toFixed(0)}/s → SOAP/REST ${(best.soap / best.rest).toFixed(2)}× (goal ≥ 0.8×)`);
