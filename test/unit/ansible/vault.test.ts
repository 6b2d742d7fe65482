import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decrypt, decryptWith, encrypt, setVaultPasswords } from '../../../src/ansible/vault.js';
import { InputError } from '../../../src/core/input-error.js';
import { redact } from '../../../src/core/redact.js';
import { YamlFile } from '../../../src/inventory/yaml-doc.js';
import { expand, project } from './helpers.js';

// made with Debian's ansible-vault 2.14 (ansible-core 2.14.18): password "correct horse"
const fixtures = join(import.meta.dirname, '../../fixtures/ansible-vault');
const PASSWORD = 'correct horse';

afterEach(() => setVaultPasswords([]));

describe('Ansible Vault (AES256, format 1.1/1.2)', () => {
  it("decrypts ansible-vault's own output: encrypt_string, an encrypted file, a labelled 1.2 value", async () => {
    setVaultPasswords([{ password: PASSWORD }]);
    const s = YamlFile.parse('string.yml', readFileSync(join(fixtures, 'string.yml'), 'utf8'));
    expect(s.js(s.root)).toEqual({ db_password: 's3cret-value' });
    const f = await YamlFile.read(join(fixtures, 'vars.yml'));
    expect(f.js(f.root)).toEqual({ api_token: 'tok-123', list: [1, 2] });
    setVaultPasswords([{ password: 'other' }, { id: 'prod', password: PASSWORD }]);
    const l = YamlFile.parse('labelled.yml', readFileSync(join(fixtures, 'labelled.yml'), 'utf8'));
    expect(l.js(l.root)).toEqual({ x: 'labelled' });
  });

  it('round-trips its own encryption, and refuses a wrong password by the HMAC', () => {
    const env = encrypt('hello\nworld', 'pw');
    expect(decryptWith(env, 'pw')).toBe('hello\nworld');
    expect(() => decryptWith(env, 'nope')).toThrow(/wrong vault password/);
  });

  it('a vaulted value without a password, or with a wrong one, is an error at the value', () => {
    const text = readFileSync(join(fixtures, 'string.yml'), 'utf8');
    expect(() => YamlFile.parse('string.yml', text)).toThrow(/--vault-password-file/);
    setVaultPasswords([{ password: 'wrong' }]);
    try {
      YamlFile.parse('string.yml', text);
      expect.unreachable();
    } catch (e) {
      expect([(e as InputError).line, (e as InputError).message]).toEqual([1, 'invalid YAML: !vault: wrong vault password (the HMAC does not match)']);
    }
  });

  it('a decrypted value is a secret: masked in every output', () => {
    setVaultPasswords([{ password: PASSWORD }]);
    decrypt(readFileSync(join(fixtures, 'vars.yml'), 'utf8'));
    expect(redact('token is tok-123 and list')).not.toContain('tok-123');
  });

  it('vaulted play vars and vars_files reach the tasks', async () => {
    setVaultPasswords([{ password: PASSWORD }]);
    const dir = project({});
    copyFileSync(join(fixtures, 'vars.yml'), join(dir, 'secret.yml'));
    const { plays } = await expand({
      'secret.yml': readFileSync(join(fixtures, 'vars.yml'), 'utf8'),
      'site.yml': `- hosts: all\n  vars:\n${readFileSync(join(fixtures, 'string.yml'), 'utf8').replace(/^/gm, '    ')}\n  vars_files: [secret.yml]\n  tasks:\n    - copy: { dest: /etc/app.env, content: "DB={{ db_password }} TOKEN={{ api_token }}" }\n`,
    });
    expect(plays[0].tasks[0].args).toMatchObject({ content: 'DB=s3cret-value TOKEN=tok-123' });
  });
});
