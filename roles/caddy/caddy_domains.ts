import { z } from 'zod';
import { defineModule } from '../../src/core/module.js';
import { domainResolution, judgeDomain, type DomainResolution } from '../../src/facts/caddy.js';
import { domainList, extraAddresses } from './caddy_certificates.js';

const schema = z.object({ domains: domainList, addresses: extraAddresses }).strict();

type Args = z.infer<typeof schema>;

/**
 * The first cause of ACME failures, said before Caddy asks for anything: a domain whose DNS does not
 * point at this host. Never changes the host and never fails the run by itself (DNS is often switched
 * after a new server is ready); caddy_certificates fails for such a domain, with the same sentence.
 */
export default defineModule({
  name: 'caddy_domains',
  summary: 'Check that each domain resolves (in DNS, not /etc/hosts) to this host, and say plainly which do not',
  schema,
  facts: (a: Args) => ({ dns: domainResolution(a.domains) }),
  plan(a: Args, { dns }: { dns: DomainResolution }) {
    const judged = a.domains.map((d) => judgeDomain(d, dns, a.addresses));
    const bad = judged.filter((j) => j.verdict !== 'here');
    const good = judged.filter((j) => j.verdict === 'here');
    // the problems first: they are what the operator has to act on
    return { steps: [], reason: [...bad, ...good].map((j) => j.text).join('; ') };
  },
});
