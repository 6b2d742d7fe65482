import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';

/** Ansible's `stat` return value (the common keys), as `register` hands it to later tasks. */
export interface StatResult {
  exists: boolean;
  path?: string;
  mode?: string;
  isdir?: boolean;
  isreg?: boolean;
  islnk?: boolean;
  uid?: number;
  gid?: number;
  pw_name?: string;
  gr_name?: string;
  size?: number;
  mtime?: number;
  inode?: number;
  nlink?: number;
  lnk_source?: string;
  lnk_target?: string;
  checksum?: string;
}

const FORMAT = '%F|%a|%u|%g|%U|%G|%s|%Y|%i|%h';

/** One line of `stat -c FORMAT` (of the link itself, or of its target with `follow`), the link target, then sha1. */
export function statProbe(path: string, follow: boolean, checksum: boolean) {
  const p = shq(path);
  const L = follow ? '-L ' : '';
  return probe<StatResult>(
    `ansible-stat:${JSON.stringify([path, follow, checksum])}`,
    [
      `if [ -e ${p} ] || [ -L ${p} ]; then`,
      `  stat ${L}-c '${FORMAT}' ${p}`,
      `  if [ -L ${p} ]; then readlink ${p}; readlink -f ${p}; else echo; echo; fi`,
      checksum ? `  if [ -f ${p} ] && [ -r ${p} ]; then sha1sum < ${p} | cut -d' ' -f1; else echo; fi` : '  echo',
      'fi',
    ].join('\n'),
    (out) => parseStat(path, out),
  );
}

export function parseStat(path: string, out: string): StatResult {
  const [line = '', target = '', source = '', sha1 = ''] = out.split('\n');
  const f = line.split('|');
  if (f.length < 10) return { exists: false };
  const [kind, mode, uid, gid, owner, group, size, mtime, inode, nlink] = f;
  const link = kind === 'symbolic link';
  return {
    exists: true,
    path,
    mode: mode.padStart(4, '0'),
    isdir: kind === 'directory',
    isreg: kind.startsWith('regular'),
    islnk: link,
    uid: Number(uid),
    gid: Number(gid),
    pw_name: owner,
    gr_name: group,
    size: Number(size),
    mtime: Number(mtime),
    inode: Number(inode),
    nlink: Number(nlink),
    ...(target ? { lnk_target: target, lnk_source: source } : {}),
    ...(sha1 ? { checksum: sha1 } : {}),
  };
}
