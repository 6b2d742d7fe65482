/**
 * Ansible's one-line `repo:` of apt_repository ("deb [signed-by=/k.gpg arch=amd64] URL suite comp..."),
 * read into the fields of our deb822 form, and the file name Ansible would derive from it.
 */
export interface RepoLine {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  architectures?: string[];
  signed_by?: string;
}

export function parseRepoLine(line: string): RepoLine | string {
  const m = /^\s*(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)\s*$/.exec(line);
  if (!m) return 'repo must look like "deb [signed-by=/etc/apt/keyrings/x.gpg] https://example.com/debian bookworm main"';
  if (m[3].startsWith('ppa:')) return 'PPA repositories are Ubuntu-only; give the deb line of the repository';
  const out: RepoLine = { types: [m[1]], uris: [m[3]], suites: [m[4]], components: m[5].trim() ? m[5].trim().split(/\s+/) : [] };
  for (const opt of (m[2] ?? '').trim().split(/\s+/).filter(Boolean)) {
    const [k, v] = opt.split('=');
    if (v === undefined) return `option \`${opt}\` in [...] must be key=value`;
    if (k === 'signed-by') out.signed_by = v;
    else if (k === 'arch') out.architectures = v.split(',');
    else return `option \`${k}\` in [...] is not supported (signed-by and arch are)`;
  }
  return out;
}

/** The name Ansible gives the file when `filename` is not set: the URL without scheme, every run of other characters an `_`. */
export function repoFileName(uri: string): string {
  const bare = uri.replace(/^\w+:\/\//, '').replace(/^[^@/]*@/, '');
  return bare.split(/[^a-zA-Z0-9]+/).filter(Boolean).join('_');
}

/** Arguments with `repo` (and `filename`) turned into name/types/uris/... for the deb822 schema. */
export function expandRepoArgs(v: unknown, issue: (message: string) => void): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v) || !('repo' in v)) return v;
  const { repo, filename, mode: _mode, codename: _c, install_python_apt: _i, validate_certs: _vc, ...rest } = v as Record<string, unknown>;
  if (typeof repo !== 'string') return v;
  // still a template (checked at load, checked again once rendered): a valid stand-in for the line
  if (repo.includes('{{')) return { name: 'repo', uris: ['https://rendered.later/'], ...rest };
  const parsed = parseRepoLine(repo);
  if (typeof parsed === 'string') {
    issue(parsed);
    return v;
  }
  const name = typeof filename === 'string' ? filename.replace(/\.(list|sources)$/, '') : repoFileName(parsed.uris[0]);
  return { name, ...parsed, ...rest };
}
