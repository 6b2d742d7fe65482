/**
 * nunjucks, loaded by the first template a run meets (require is synchronous; nunjucks is CommonJS):
 * a run whose files and roles hold no `{{ }}` never loads it, and `--help` never does.
 */
import { createRequire } from 'node:module';
import type Nunjucks from 'nunjucks';

const require = createRequire(import.meta.url);
let lib: typeof Nunjucks | undefined;

export function nunjucks(): typeof Nunjucks {
  return (lib ??= require('nunjucks') as typeof Nunjucks);
}
