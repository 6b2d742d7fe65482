/**
 * Root must never let another user redirect a write. A user who owns a directory on the way to a
 * path (~/.ssh, /srv/app) can swap anything below it for a symbolic link at any moment, so what root
 * does there by name (mktemp, `>`, chmod, chown, mkdir, touch) could land in /etc. This shell library,
 * rendered into every step that touches a path (the write step, `file`), makes that impossible:
 *
 * - `__ss_owner DIR` walks DIR from `/`: a symbolic link owned by anyone but root is refused; a
 *   directory writable by its group or everyone without the sticky bit is refused; the one non-root
 *   user owning a directory on the way becomes the *acting user* (two different users: refused). It
 *   sets `__ss_as` (UID:GID, `0:0` when only root controls the way) and `__ss_dir` (DIR with root's
 *   own links resolved).
 * - `__ss_run CMD...` runs as the acting user (setpriv): a swap can then only redirect the command to
 *   where that user could write anyway.
 * - `__ss_root CMD...` runs as root inside `__ss_dir`, only after `cd -P` proved the directory is still
 *   the one that was checked; CMD then names its file relatively (`chown -h` never follows it).
 */
export const SAFE_PATH_LIB = `__ss_owner() {
  __ss_as=0:0; __ss_dir=; __r=\${1#/}; __n=0
  while [ -n "$__r" ]; do
    __x=\${__r%%/*}
    case $__r in */*) __r=\${__r#*/} ;; *) __r= ;; esac
    case $__x in '' | .) continue ;; ..) __ss_dir=\${__ss_dir%/*}; continue ;; esac
    __c=$__ss_dir/$__x
    if [ -L "$__c" ]; then
      if [ "$(stat -c %u -- "$__c")" != 0 ] || [ "$__ss_as" != 0:0 ]; then
        echo "refused: $__c is a symbolic link owned by $(stat -c %U -- "$__c") (uid $(stat -c %u -- "$__c")), in a place another user controls; root does not follow it, and nothing was written" >&2
        return 1
      fi
      # root's own link (/var/run -> /run): walk its target too, one link at a time
      __n=$((__n + 1)); [ $__n -lt 40 ] || { echo "refused: too many symbolic links in $1" >&2; return 1; }
      __t=$(readlink -- "$__c")
      case $__t in /*) __ss_dir= ;; esac
      __r=\${__t#/}\${__r:+/$__r}
      continue
    fi
    __ss_dir=$__c
    # nothing below a missing (or non-directory) component exists yet: the rest of the path is
    # taken as written, so mkdir -p and errors name the place that was asked for
    if [ ! -d "$__c" ]; then __ss_dir=$__c\${__r:+/$__r}; break; fi
    __s=$(stat -c '%u:%g:%a' -- "$__c")
    __u=\${__s%%:*}; __m=\${__s##*:}; __g=\${__s#*:}; __g=\${__g%%:*}
    if [ $((0$__m & 01000)) -eq 0 ] && [ $((0$__m & 022)) -ne 0 ]; then
      echo "refused: $__c is writable by its group or by everyone (mode $__m, no sticky bit): another user could swap what root writes there; nothing was written" >&2
      return 1
    fi
    if [ "$__u" != 0 ]; then
      if [ "$__ss_as" != 0:0 ] && [ "\${__ss_as%%:*}" != "$__u" ]; then
        echo "refused: $__c belongs to uid $__u, a directory above it to uid \${__ss_as%%:*}; nothing was written" >&2
        return 1
      fi
      __ss_as=$__u:$__g
    fi
  done
  [ -n "$__ss_dir" ] || __ss_dir=/
}
__ss_run() {
  if [ "$__ss_as" = 0:0 ] || [ "\${__ss_as%%:*}" = "$(id -u)" ]; then "$@"
  else setpriv --reuid="\${__ss_as%%:*}" --regid="\${__ss_as#*:}" --clear-groups -- "$@"; fi
}
__ss_root() {
  ( cd -P -- "$__ss_dir" 2>/dev/null && [ "$(pwd -P)" = "$__ss_dir" ] || { echo "refused: $__ss_dir was moved while shipshape worked in it; nothing more was written" >&2; exit 1; }
    "$@" )
}`;
