// The Debian releases a lab host can run. Debian 12 stays the default: it is what every host was before
// Debian 13 came, and its base image keeps its old path (`<lab dir>/base`), so running labs are undisturbed.

export const DISTS = ['bookworm', 'trixie'] as const;
export type Dist = (typeof DISTS)[number];
export const DEFAULT_DIST: Dist = 'bookworm';

/** "Debian 12 (bookworm)": how reports and logs name a release. */
export const DIST_LABEL: Record<Dist, string> = { bookworm: 'Debian 12 (bookworm)', trixie: 'Debian 13 (trixie)' };

export function isDist(value: string): value is Dist {
  return (DISTS as readonly string[]).includes(value);
}

export function parseDist(value: string): Dist {
  if (!isDist(value)) throw new Error(`unknown Debian release "${value}": expected one of ${DISTS.join(', ')}`);
  return value;
}

/** The release of a root file system, from its /etc/os-release text (VERSION_CODENAME). */
export function distOfOsRelease(text: string): Dist | undefined {
  const codename = /^VERSION_CODENAME=["']?([a-z]+)["']?\s*$/m.exec(text)?.[1];
  return codename !== undefined && isDist(codename) ? codename : undefined;
}
