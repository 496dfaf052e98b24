/**
 * Several instances on one PostgreSQL (issue 11): the small-file registration load of
 * bench/registrations.ts against one instance, then against two on the same (fresh) database with
 * the 32 clients split between them, in the same run. Prints figures and the ratio, not verdicts.
 * On a 2-core machine both instances and PostgreSQL share the cores, so the second instance adds
 * no CPU: the figure shows what sharing a database costs, not what scaling out gains.
 *
 *   node --import tsx bench/instances.ts [count=3000]
 */
import { registrationLoad } from './support/registration-load.js';

const COUNT = Number(process.argv[2] ?? 3000);
console.log(`${COUNT} small-file registrations on PostgreSQL, 32 concurrent clients, Node ${process.version}`);
const one = await registrationLoad({ count: COUNT, store: 'postgres', instances: 1 });
console.log(`  one instance   accepted ${one.acceptedPerSecond.toFixed(0)}/s, end to end ${one.registeredPerSecond.toFixed(0)}/s`);
const two = await registrationLoad({ count: COUNT, store: 'postgres', instances: 2 });
console.log(`  two instances  accepted ${two.acceptedPerSecond.toFixed(0)}/s, end to end ${two.registeredPerSecond.toFixed(0)}/s`);
console.log(`  two / one, end to end: ${(two.registeredPerSecond / one.registeredPerSecond).toFixed(2)}×`);
