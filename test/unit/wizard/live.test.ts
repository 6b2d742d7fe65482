import { describe, expect, it } from 'vitest';
import { baseAnswers } from '../../../src/wizard/answers.js';
import { judgeOs, specFor } from '../../../src/wizard/live.js';

const info = (osId: string, osVersion: string) => ({ container: 'none', osId, osVersion, osCodename: '', arch: 'amd64' });

describe('wizard: live checks', () => {
  it('accepts the systems the roles support and names any other', () => {
    for (const [id, v] of [['debian', '12'], ['debian', '13'], ['ubuntu', '22.04'], ['ubuntu', '24.04']]) expect(judgeOs(info(id, v))).toBeUndefined();
    expect(judgeOs(info('debian', '11'))).toBe("the server runs debian 11; shipshape's roles support Debian 12/13 and Ubuntu 22.04/24.04 only");
    expect(judgeOs(info('', ''))).toMatch(/an unknown system \(no \/etc\/os-release\)/);
  });

  it('logs in as a run of the written inventory would: the deploy user, else bootstrap_user, with the inventory known_hosts', () => {
    const spec = specFor(baseAnswers({ name: 'web1', host: '203.0.113.10', port: 2222, identity_file: 'keys/id', deploy_user: 'ops' }), '/srv/project');
    expect(spec).toMatchObject({ name: 'web1', host: '203.0.113.10', port: 2222, user: 'ops', bootstrapUser: 'root', identityFile: '/srv/project/inventory/keys/id', acceptNewHostKeys: false });
    expect(spec.knownHostsFiles[0]).toBe('/srv/project/inventory/known_hosts');
  });
});
