import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';
import { batchablePath, CONTENT_LIMIT, fileBatcher, pathWord } from './file-batch.js';

export { CONTENT_LIMIT };

export type FileType = 'file' | 'directory' | 'link' | 'other';

export interface FileStat {
  exists: boolean;
  type?: FileType;
  /** octal permission bits without leading zero, as stat prints them: "644" */
  mode?: string;
  owner?: string;
  group?: string;
  size?: number;
  /** target of a symbolic link */
  target?: string;
}

const STAT = `stat -c '%F|%a|%U|%G|%s'`;

/** One line: `%F|%a|%U|%G|%s`, then the link target for links; nothing when absent. */
export function parseStatLine(line: string, linkTarget?: string): FileStat {
  const [kind, mode, owner, group, size] = line.split('|');
  if (mode === undefined) return { exists: false };
  const type: FileType = kind.startsWith('regular') ? 'file' : kind === 'directory' ? 'directory' : kind === 'symbolic link' ? 'link' : 'other';
  return {
    exists: true,
    type,
    mode,
    owner,
    group,
    size: Number(size),
    ...(type === 'link' && linkTarget !== undefined ? { target: linkTarget } : {}),
  };
}

/** PATH: absolute, or under an account's home (homePath), which the host's shell expands. */
export function fileStat(path: string) {
  const p = pathWord(path);
  return probe<FileStat>(
    `stat:${path}`,
    `if [ -e ${p} ] || [ -L ${p} ]; then ${STAT} ${p}; if [ -L ${p} ]; then readlink ${p}; fi; fi`,
    (out) => {
      const [line = '', target] = out.split('\n');
      return parseStatLine(line, target);
    },
    batchablePath(path) ? { batch: { batcher: fileBatcher, key: `stat:${path}` } } : {},
  );
}

/**
 * A path's modification time as `stat -c '%Y %n'` prints it ("SECONDS PATH"; nothing when it does not
 * exist), read by the play's one stat when the path is plain.
 */
export function fileMtime(path: string) {
  return probe<string>(`mtime:${path}`, `stat -c '%Y %n' -- ${pathWord(path)} 2>/dev/null || true`, (out) => out, {
    inline: true,
    ...(batchablePath(path) ? { batch: { batcher: fileBatcher, key: `mtime:${path}` } } : {}),
  });
}

export interface FileContent extends FileStat {
  /** the file's text; undefined when absent, not a regular file, or larger than the limit */
  content?: string;
  sha256?: string;
}

/* Files larger than CONTENT_LIMIT are compared by hash only and get no text diff. */

export function fileContent(path: string) {
  const p = shq(path);
  return probe<FileContent>(
    `content:${path}`,
    [
      `if [ -e ${p} ] || [ -L ${p} ]; then`,
      `  ${STAT} ${p}; if [ -L ${p} ]; then readlink ${p}; else echo; fi`,
      // never read through a link another user controls: root would print whatever it points at
      `  if [ -f ${p} ] && { [ ! -L ${p} ] || [ "$(stat -c %u ${p})" = 0 ]; }; then sha256sum < ${p} | cut -d' ' -f1; s=$(stat -L -c %s ${p}); [ "$s" -le ${CONTENT_LIMIT} ] && cat ${p}; fi`,
      `fi`,
    ].join('\n'),
    (out) => {
      const lines = out.split('\n');
      if (!lines[0]) return { exists: false };
      const stat = parseStatLine(lines[0], lines[1]);
      if (stat.type !== 'file') return stat;
      const sha256 = lines[2];
      // content is everything after the third newline, byte for byte
      let idx = -1;
      for (let i = 0; i < 3; i++) idx = out.indexOf('\n', idx + 1);
      const content = idx >= 0 && (stat.size ?? 0) <= CONTENT_LIMIT ? out.slice(idx + 1) : undefined;
      return { ...stat, sha256, ...(content !== undefined ? { content } : {}) };
    },
    batchablePath(path) ? { batch: { batcher: fileBatcher, key: `content:${path}` } } : {},
  );
}

/**
 * A regular file's text as `head -c` prints it (one byte past the limit at most), never through a symbolic
 * link; exit 1 when there is none (absent, not a regular file). For a probe that has the file's stat already
 * and needs no hash (authorizedKeysOf, sysctlValue): it joins the play's one `head` without a `sha256sum`.
 * PATH: absolute, or under an account's home (homePath).
 */
export function fileText(path: string) {
  const p = pathWord(path);
  return probe<string | undefined>(
    `text:${path}`,
    `[ -f ${p} ] && [ ! -L ${p} ] && head -c ${CONTENT_LIMIT + 1} -- ${p}`,
    (out, code) => (code === 0 ? out : undefined),
    batchablePath(path) ? { batch: { batcher: fileBatcher, key: `text:${path}` } } : {},
  );
}
