// Reads the controller's own Debian mirror from its apt sources, at run time, so no mirror host name is
// ever written into the repository. Pure parsers; the file reading is in base-image.ts.

export interface AptMirrors {
  /** Main archive URI, e.g. http://mirror.example/debian */
  main: string;
  /** Security archive URI, when the machine has one configured. */
  security?: string;
}

const trimSlash = (uri: string) => uri.replace(/\/+$/, '');

/**
 * deb822 (`/etc/apt/sources.list.d/debian.sources`): the main URI is the FIRST `URIs:` line of the file
 * (comment lines are skipped); the security URI comes from the stanza whose Suites name a `-security`
 * suite, or else from the second stanza (Debian's own layout).
 */
export function parseDeb822Sources(text: string): AptMirrors | undefined {
  const stanzas: Record<string, string>[] = [];
  let current: Record<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.trim() === '') {
      current = undefined;
      continue;
    }
    if (line.trimStart().startsWith('#')) continue;
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (!m) continue; // continuation lines (multi-line fields such as Signed-By keys)
    if (!current) stanzas.push((current = {}));
    current[m[1].toLowerCase()] = m[2].trim();
  }
  const withUri = stanzas.filter((s) => s.uris && (s.types ?? 'deb').split(/\s+/).includes('deb'));
  if (withUri.length === 0) return undefined;
  const firstUri = (s: Record<string, string>) => trimSlash(s.uris.split(/\s+/)[0]);
  const isSecurity = (s: Record<string, string>) => /-security\b|\/updates\b/.test(s.suites ?? '');
  const mainStanza = withUri.find((s) => !isSecurity(s)) ?? withUri[0];
  const securityStanza = withUri.find(isSecurity) ?? withUri.find((s) => s !== mainStanza);
  const main = firstUri(mainStanza);
  const security = securityStanza ? firstUri(securityStanza) : undefined;
  return { main, ...(security && security !== main ? { security } : {}) };
}

/** One-line style (`/etc/apt/sources.list`): `deb [options] URI SUITE COMPONENTS...`. */
export function parseOneLineSources(text: string): AptMirrors | undefined {
  const entries: { uri: string; suite: string }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) entries.push({ uri: trimSlash(m[1]), suite: m[2] });
  }
  const isSecurity = (e: { suite: string }) => /-security$|\/updates$/.test(e.suite);
  const main = entries.find((e) => !isSecurity(e));
  if (!main) return undefined;
  const security = entries.find(isSecurity);
  return { main: main.uri, ...(security ? { security: security.uri } : {}) };
}
