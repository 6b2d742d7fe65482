import { freshHosts, writeInventory } from '../test/e2e/support.ts';
const lab = await freshHosts([process.argv[2] ?? 'h21']);
console.log(writeInventory(lab, lab.hosts));
