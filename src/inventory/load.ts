/**
 * Loads an Ansible-style YAML inventory (hosts.yml plus host_vars/ and group_vars/ beside it) into
 * hosts with merged variables and a ConnectionSpec each. Every problem in every file is collected
 * and thrown as one InputError, before anything connects anywhere.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InputError, sortErrors, uniqueErrors } from '../core/input-error.js';
import { nearest } from '../core/suggest.js';
import { loadSshConfig, type SshConfigResult } from '../transport/ssh-config.js';
import { SECRET_KEYS, buildSpec, resolveConnection, splitVars, type ConnLayer, type VarsLayer } from './connection.js';
import { isVaulted } from '../ansible/vault.js';
import { expandHostRange } from './host-range.js';
import { looksLikeIni, parseIniInventory } from './ini.js';
import { inventoryToJSON, type Inventory, type InventoryGroup, type InventoryHost } from './types.js';
import { mergeVars } from './vars.js';
import { YamlFile, describeNode, type YNode } from './yaml-doc.js';

export interface LoadInventoryOptions {
  /** resolves an alias against ~/.ssh/config; false ignores ssh config (tests) */
  sshConfig?: false | ((alias: string) => SshConfigResult);
  /** for `~` in paths; defaults to the current user's home */
  home?: string;
  /** the login user when neither inventory nor ssh config names one (like ssh); defaults to $USER */
  localUser?: string;
  /** connection keys given with -e: they win over every inventory layer, as in Ansible */
  extraConnection?: ConnLayer;
  /**
   * the playbook's directory: its group_vars/ and host_vars/ are read too, as Ansible reads them,
   * each above the inventory's of the same group or host
   */
  playbookDir?: string;
}

const GROUP_KEYS = ['hosts', 'children', 'vars'];
const VARS_EXT = ['.yml', '.yaml', '.json'];

interface GroupBuild {
  name: string;
  hosts: string[];
  children: string[];
  parents: Set<string>;
  layers: VarsLayer[];
  source?: InventoryGroup['source'];
  keyNode?: YNode;
  file?: YamlFile;
}

interface HostBuild {
  name: string;
  direct: Set<string>;
  inline: VarsLayer[];
  files: VarsLayer[];
  source: InventoryHost['source'];
}

class Builder {
  readonly groups = new Map<string, GroupBuild>();
  readonly hosts = new Map<string, HostBuild>();
  readonly errors: InputError[] = [];
  readonly warnings: InputError[] = [];

  group(name: string): GroupBuild {
    let g = this.groups.get(name);
    if (!g) this.groups.set(name, (g = { name, hosts: [], children: [], parents: new Set(), layers: [] }));
    return g;
  }

  parseGroup(f: YamlFile, name: string, keyNode: YNode, node: YNode | null, parent?: string): void {
    const g = this.group(name);
    g.source ??= f.source(keyNode);
    g.keyNode ??= keyNode;
    g.file ??= f;
    if (parent && !g.parents.has(parent)) {
      g.parents.add(parent);
      this.group(parent).children.push(name);
    }
    if (node === null || f.scalar(node) === null) return;
    if (!f.isMap(node)) {
      this.errors.push(f.error(node, `group \`${name}\` must be a mapping with \`hosts\`, \`children\` or \`vars\`, not ${describeNode(f, node)}`));
      return;
    }
    for (const { key, keyNode: k, value } of f.entries(node)) {
      if (key === 'hosts') this.parseHosts(f, g, value);
      else if (key === 'children') this.parseChildren(f, name, value);
      else if (key === 'vars') {
        if (this.expectMap(f, value, '`vars` must be a mapping of variable names to values')) g.layers.push(splitVars(f, value, this.errors, this.warnings));
      } else {
        const near = nearest(key, GROUP_KEYS);
        const hint = near ? `did you mean \`${near}\`?` : 'a group has `hosts`, `children` and `vars`; variables go under `vars:`';
        this.errors.push(f.error(k, `unknown key \`${key}\` in group \`${name}\``, hint));
      }
    }
  }

  private expectMap(f: YamlFile, node: YNode | null, message: string): boolean {
    if (node === null || f.scalar(node) === null) return false;
    if (f.isMap(node)) return true;
    this.errors.push(f.error(node, message));
    return false;
  }

  private parseHosts(f: YamlFile, g: GroupBuild, node: YNode | null): void {
    if (!this.expectMap(f, node, `\`hosts\` of group \`${g.name}\` must be a mapping of host names (each \`name:\` on its own line)`)) return;
    for (const { key, keyNode, value } of f.entries(node)) {
      let names: string[];
      try {
        names = expandHostRange(key) ?? [key];
      } catch (e) {
        this.errors.push(f.error(keyNode, (e as Error).message));
        continue;
      }
      const isMap = value !== null && f.isMap(value);
      if (value !== null && !isMap && f.scalar(value) !== null) {
        this.errors.push(f.error(value, `host \`${key}\` must map to its variables or be empty, not ${describeNode(f, value)}`));
        continue;
      }
      const layer = isMap ? splitVars(f, value, this.errors, this.warnings) : undefined;
      for (const name of names) {
        let h = this.hosts.get(name);
        if (!h) this.hosts.set(name, (h = { name, direct: new Set(), inline: [], files: [], source: f.source(keyNode) }));
        h.direct.add(g.name);
        if (!g.hosts.includes(name)) g.hosts.push(name);
        if (layer) h.inline.push(layer);
      }
    }
  }

  private parseChildren(f: YamlFile, parent: string, node: YNode | null): void {
    if (!this.expectMap(f, node, `\`children\` of group \`${parent}\` must be a mapping of group names`)) return;
    for (const { key, keyNode, value } of f.entries(node)) {
      if (key === 'all') this.errors.push(f.error(keyNode, '`all` contains every group; it cannot be a child'));
      else this.parseGroup(f, key, keyNode, value, parent);
    }
  }

  /** Ansible's implicit group: the hosts listed under no group but `all` */
  addUngrouped(): void {
    const lonely = [...this.hosts.values()].filter((h) => [...h.direct].every((g) => g === 'all' || g === 'ungrouped'));
    if (lonely.length === 0) return;
    const u = this.group('ungrouped');
    if (u.parents.size === 0) {
      u.parents.add('all');
      this.group('all').children.push('ungrouped');
    }
    for (const h of lonely) {
      h.direct.add('ungrouped');
      if (!u.hosts.includes(h.name)) u.hosts.push(h.name);
    }
  }

  /** Every group `host` is in, directly or through child groups; always includes `all`. */
  memberOf(host: HostBuild): Set<string> {
    const member = new Set<string>();
    const climb = (g: string) => {
      if (member.has(g)) return;
      member.add(g);
      for (const p of this.groups.get(g)?.parents ?? []) climb(p);
    };
    for (const g of host.direct) climb(g);
    return member.add('all');
  }

  /** Longest path from `all`; a cycle is an error at the group that closes it. */
  depths(): Map<string, number> {
    const depth = new Map<string, number>();
    const visit = (name: string, stack: string[]): number => {
      const known = depth.get(name);
      if (known !== undefined) return known;
      const g = this.groups.get(name)!;
      if (stack.includes(name)) {
        const cycle = [...stack.slice(stack.indexOf(name)), name].join(' -> ');
        this.errors.push(g.file && g.keyNode ? g.file.error(g.keyNode, `groups contain each other: ${cycle}`) : new InputError(`groups contain each other: ${cycle}`, { file: '' }));
        return 0;
      }
      const d = name === 'all' ? 0 : 1 + Math.max(0, ...[...g.parents].map((p) => visit(p, [...stack, name])));
      depth.set(name, d);
      return d;
    };
    for (const name of this.groups.keys()) visit(name, []);
    return depth;
  }
}

/** hosts.yml, or a directory holding hosts.yml / hosts.yaml (a folder without one: the folder itself) */
export function inventoryFile(path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) {
    for (const n of ['hosts.yml', 'hosts.yaml']) if (existsSync(join(path, n))) return join(path, n);
    return path;
  }
  return path;
}

/** Names Ansible never reads as inventory in a folder: hidden files, its vars folders, and its INVENTORY_IGNORE_EXTS. */
const IGNORED = /^\.|^(host_vars|group_vars|vars_plugins)$|(\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$/;
/** shipshape's own files beside an inventory (not inventories): host keys */
const OWN_FILES = ['known_hosts'];

/**
 * The inventory files of a folder without hosts.yml, as Ansible reads such a folder: every file, in
 * name order, subfolders too, except hidden ones, group_vars/host_vars, and the extensions Ansible
 * skips (`.ini` among them, surprisingly, and `.md`, `.txt`, `.cfg`, `.retry`, `~`, ...).
 */
function folderSources(dir: string, warnings: InputError[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (IGNORED.test(name) || OWN_FILES.includes(name)) {
      // the one skip that surprises: an INI inventory named *.ini is not read from a folder (Ansible's rule)
      if (name.endsWith('.ini')) warnings.push(new InputError('not read: Ansible skips `.ini` files in an inventory folder, and so does shipshape', { file: join(dir, name), hint: 'name it without the extension to have it read, or pass it with -i itself' }));
      continue;
    }
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...folderSources(p, warnings));
    else out.push(p);
  }
  return out;
}

/** One inventory file as YAML, or as Ansible's INI format when it reads as that; a reason when neither. */
async function readSource(file: string): Promise<YamlFile | { notInventory: InputError }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { notInventory: new InputError(`cannot read file: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { file }) };
  }
  let yaml: YamlFile | InputError;
  try {
    yaml = YamlFile.parse(file, text, { secretKeys: SECRET_KEYS });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    yaml = e;
  }
  const yamlMap = !(yaml instanceof InputError) && (yaml.root === null || yaml.scalar(yaml.root) === null || yaml.isMap(yaml.root));
  if (yamlMap) return yaml as YamlFile;
  if (!isVaulted(text) && (looksLikeIni(text) || /^[^\s#;:=\[\]{}]+(\s+[^\s=]+=\S*)*\s*$/m.test(text))) {
    try {
      return parseIniInventory(file, text);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return { notInventory: looksLikeIni(text) ? e : yaml instanceof InputError ? yaml : e };
    }
  }
  if (yaml instanceof InputError) return { notInventory: yaml };
  return { notInventory: yaml.error(yaml.root, `an inventory is a mapping of groups (usually \`all:\`), not ${describeNode(yaml, yaml.root)}`) };
}

export async function loadInventory(path: string, opts: LoadInventoryOptions = {}): Promise<Inventory> {
  const file = inventoryFile(path);
  const folder = existsSync(file) && statSync(file).isDirectory();
  const dir = folder ? file : dirname(file);
  const home = opts.home ?? homedir();
  const b = new Builder();
  b.group('all');
  const sources = folder ? folderSources(dir, b.warnings) : [file];
  if (folder && sources.length === 0) {
    // the warnings are never printed when this throws: an INI file skipped for its name must be named here
    const skippedIni = b.warnings.map((w) => w.file).filter((f): f is string => !!f && f.endsWith('.ini'));
    const hint = skippedIni.length
      ? `${skippedIni.join(', ')}: not read, as Ansible skips \`.ini\` files in an inventory folder; pass it with -i ${skippedIni[0]}, or name it without the extension`
      : 'write hosts.yml (an Ansible YAML inventory), or put Ansible inventory files (YAML or INI) here';
    throw new InputError('no hosts.yml and no inventory file in this directory', { file: dir, hint });
  }
  for (const source of sources) {
    const f = await readSource(source);
    if ('notInventory' in f) {
      // a folder may hold other files: Ansible warns and skips what it cannot read as an inventory; a file named with -i must be one
      if (folder) b.warnings.push(new InputError(`not read as an inventory (neither a YAML nor an INI inventory): ${f.notInventory.message}`, { file: f.notInventory.file ?? source, ...(f.notInventory.line ? { line: f.notInventory.line, column: f.notInventory.column } : {}) }));
      else throw f.notInventory;
      continue;
    }
    for (const { key, keyNode, value } of f.entries(f.root)) {
      b.parseGroup(f, key, keyNode, value, key === 'all' ? undefined : 'all');
    }
  }
  b.addUngrouped();
  // beside the inventory, then beside the playbook (Ansible: playbook group_vars/GROUP above inventory group_vars/GROUP)
  const varsDirs = [dir, ...(opts.playbookDir && resolve(opts.playbookDir) !== resolve(dir) ? [opts.playbookDir] : [])];
  for (const d of varsDirs) {
    await loadVarsDir(b, join(d, 'group_vars'), [...b.groups.keys()], 'group', (name, layers) => b.group(name).layers.push(...layers));
    await loadVarsDir(b, join(d, 'host_vars'), [...b.hosts.keys()], 'host', (name, layers) => b.hosts.get(name)!.files.push(...layers));
  }
  const depth = b.depths();

  const knownHosts = join(dir, 'known_hosts');
  const specCtx = {
    dir,
    home,
    localUser: opts.localUser ?? process.env.USER ?? safeUser(),
    knownHostsFiles: existsSync(knownHosts) ? [knownHosts] : [],
    sshConfig: opts.sshConfig === false ? undefined : (opts.sshConfig ?? ((alias: string) => loadSshConfig(alias, { home }))),
  };

  const groups = new Map<string, InventoryGroup>();
  const order = (a: string, b2: string) => depth.get(a)! - depth.get(b2)! || (a < b2 ? -1 : a > b2 ? 1 : 0);
  for (const g of b.groups.values()) {
    groups.set(g.name, {
      name: g.name,
      hosts: g.hosts,
      children: g.children,
      parents: [...g.parents],
      depth: depth.get(g.name) ?? 0,
      vars: mergeVars(...g.layers.map((l) => l.vars)),
      ...(g.source ? { source: g.source } : {}),
    });
  }
  const hosts = new Map<string, InventoryHost>();
  for (const h of b.hosts.values()) {
    const groupNames = [...b.memberOf(h)].sort(order);
    const layers = [...groupNames.flatMap((g) => b.groups.get(g)!.layers), ...h.inline, ...h.files];
    const vars = mergeVars(...layers.map((l) => l.vars));
    const varOrigins = Object.assign({}, ...layers.map((l) => l.origins)) as NonNullable<InventoryHost['varOrigins']>;
    const conn: ConnLayer = Object.assign({}, ...layers.map((l) => l.conn), opts.extraConnection);
    const resolved = resolveConnection(conn, vars, b.errors);
    hosts.set(h.name, {
      name: h.name,
      groups: groupNames,
      vars,
      varOrigins,
      ...(resolved.become === undefined ? {} : { become: resolved.become }),
      connection: buildSpec(h.name, resolved, specCtx, b.errors),
      source: h.source,
    });
  }
  const err = InputError.combine(sortErrors(uniqueErrors(b.errors)));
  if (err) throw err;
  const inv: Inventory = { path: file, dir, hosts, groups, warnings: b.warnings };
  Object.defineProperty(inv, 'toJSON', { value: () => inventoryToJSON(inv), enumerable: false });
  return inv;
}

/** Every vars file under a directory, subdirectories included, in path order (as Ansible reads group_vars/all/). */
async function varsFilesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((x, y) => (x.name < y.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await varsFilesIn(path)));
    else if (VARS_EXT.includes(extname(e.name)) || extname(e.name) === '') out.push(path);
  }
  return out;
}

/**
 * group_vars/NAME.yml (.yaml, .json), group_vars/NAME (no extension) and group_vars/NAME/ (every
 * file below it), likewise host_vars; files merge in
 * name order. A file naming no known group or host is a warning: Ansible ignores it silently,
 * which hides typos.
 */
async function loadVarsDir(b: Builder, dir: string, known: string[], what: 'group' | 'host', add: (name: string, layers: VarsLayer[]) => void): Promise<void> {
  if (!existsSync(dir)) return;
  const entries = (await readdir(dir, { withFileTypes: true })).sort((x, y) => (x.name < y.name ? -1 : 1));
  const byName = new Map<string, string[]>();
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      push(byName, e.name, await varsFilesIn(path));
    } else if (known.includes(e.name) || !VARS_EXT.includes(extname(e.name))) {
      // as Ansible looks them up: NAME itself (no extension; `web1.example.com` for that host), or NAME.yml/.yaml/.json
      if (!/~$|\.(bak|swp|orig|rpmsave|dpkg-old)$/.test(e.name)) push(byName, e.name, [path]);
    } else {
      push(byName, basename(e.name, extname(e.name)), [path]);
    }
  }
  for (const [name, paths] of byName) {
    if (!known.includes(name)) {
      const near = nearest(name, known);
      b.warnings.push(new InputError(`${what}_vars for \`${name}\`, which is not a ${what} in the inventory; ignored`, { file: paths[0], hint: near && `did you mean \`${near}\`?` }));
      continue;
    }
    const layers: VarsLayer[] = [];
    for (const p of paths) {
      let f: YamlFile;
      try {
        f = await YamlFile.read(p, { secretKeys: SECRET_KEYS });
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        b.errors.push(e, ...e.others);
        continue;
      }
      const root = f.root;
      if (root !== null && f.scalar(root) !== null && !f.isMap(root)) {
        b.errors.push(f.error(root, `a ${what}_vars file is a mapping of variable names to values, not ${describeNode(f, root)}`));
        continue;
      }
      layers.push(splitVars(f, root, b.errors, b.warnings));
    }
    add(name, layers);
  }
}

function push(m: Map<string, string[]>, k: string, v: string[]): void {
  m.set(k, [...(m.get(k) ?? []), ...v]);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}
