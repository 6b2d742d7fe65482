// tsc compiles a role's index.ts into dist/roles/NAME but copies nothing else: bring each role's
// templates/ and files/ along, so an installed package has everything its roles read.
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
for (const role of readdirSync(join(root, 'roles'), { withFileTypes: true })) {
  if (!role.isDirectory()) continue;
  for (const kind of ['templates', 'files']) {
    const from = join(root, 'roles', role.name, kind);
    if (existsSync(from)) cpSync(from, join(root, 'dist', 'roles', role.name, kind), { recursive: true });
  }
}
