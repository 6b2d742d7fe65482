import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ansibleTags } from '../../../src/ansible/yaml11.js';

const read = (text: string) => parseDocument(text, { version: '1.1', customTags: ansibleTags() }).toJS();

describe('floats as PyYAML (Ansible) reads them', () => {
  it('a host named e001 stays a name, not NaN; 1e5 and a lone dot stay strings', () => {
    expect(read('hosts: [e001, E12, 1e5, ., -.5]')).toEqual({ hosts: ['e001', 'E12', '1e5', '.', '-.5'] });
  });
  it('real floats are still numbers', () => {
    expect(read('a: [1.5, -2.0, .5, 1.0e+3, 6.02E-2, .inf, .nan]').a.slice(0, 5)).toEqual([1.5, -2, 0.5, 1000, 0.0602]);
    expect(read('a: .inf').a).toBe(Infinity);
  });
});
