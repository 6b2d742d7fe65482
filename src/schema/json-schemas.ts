/**
 * JSON Schemas for editors (yaml-language-server), generated from what the loaders validate with:
 * every module's argument schema and every role's variable schema (zod), the inventory's connection
 * keys and group shape. Values may always be templates ("{{ ... }}"): the loaders render them first.
 */
import { z } from 'zod';
import type { ModuleDef } from '../core/module.js';
import { CONNECTION_KEYS } from '../inventory/connection.js';
import type { RoleDef } from '../playbook/role.js';

type Json = Record<string, unknown>;

export interface SchemaSet {
  inventory: Json;
  vars: Json;
  playbook: Json;
}

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';
const TEMPLATE: Json = { type: 'string', pattern: '\\{\\{[\\s\\S]*\\}\\}', description: 'a template, rendered before the value is checked' };

/** A zod schema as the JSON Schema of what a file may hold (its input side: defaults are optional). */
function fromZod(schema: z.ZodType): Json {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete json.$schema;
  return standardFormats(json) as Json;
}

// zod names its string checks as formats (includes, starts_with) beside the pattern that says the same;
// editors warn about formats they do not know
const FORMATS = new Set(['date-time', 'date', 'time', 'duration', 'email', 'hostname', 'ipv4', 'ipv6', 'uri', 'uuid', 'regex']);
function standardFormats(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(standardFormats);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k, x]) => !(k === 'format' && typeof x === 'string' && !FORMATS.has(x)))
      .map(([k, x]) => [k, standardFormats(x)]),
  );
}

/** Every property may also be a template, whose value is only known at run time. */
function templatable(obj: Json): Json {
  const props = obj.properties as Record<string, Json> | undefined;
  if (!props) return obj;
  return { ...obj, properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, { anyOf: [v, TEMPLATE] }])) };
}

const CONNECTION_TYPES: Record<keyof typeof CONNECTION_KEYS, Json> = {
  host: { type: 'string', description: 'address to connect to' },
  port: { type: 'integer', minimum: 1, maximum: 65535, description: 'SSH port' },
  user: { type: 'string', description: 'login user' },
  bootstrap_user: { type: 'string', description: 'who logs in while `user` cannot yet (a fresh VPS: root)' },
  identity_file: { type: 'string', description: 'private key, relative to the inventory directory' },
  become_password: { type: 'string', description: 'sudo password (a secret: never printed)' },
  become: { type: 'boolean', description: 'run tasks through sudo as root' },
  connection: { enum: ['ssh', 'smart', 'local'] },
  ssh_common_args: { type: 'string', description: 'ssh options: only `-o ProxyJump=[user@]bastion[:port]` or `-J ...` (a bastion); others are refused' },
  ssh_extra_args: { type: 'string', description: 'ssh options: only `-o ProxyJump=[user@]bastion[:port]` or `-J ...` (a bastion); others are refused' },
};

/** Host, group and group_vars/host_vars variables: connection keys and every role's variables, typed; anything else free. */
function varsSchema(roles: Record<string, RoleDef>): Json {
  const properties: Record<string, Json> = {};
  for (const role of Object.values(roles)) {
    const json = fromZod(role.vars);
    for (const [k, v] of Object.entries((json.properties ?? {}) as Record<string, Json>)) {
      properties[k] ??= { ...v, description: [`role ${role.name}`, v.description].filter(Boolean).join(': ') };
    }
  }
  for (const [key, aliases] of Object.entries(CONNECTION_KEYS) as [keyof typeof CONNECTION_KEYS, readonly string[]][]) {
    for (const name of [key, ...aliases]) properties[name] = CONNECTION_TYPES[key];
  }
  return templatable({ type: 'object', properties, additionalProperties: true });
}

function inventorySchema(): Json {
  const hostEntry = { anyOf: [{ type: 'null' }, { $ref: '#/$defs/vars' }] };
  return {
    type: 'object',
    description: "an Ansible YAML inventory: top-level groups (usually `all`) with hosts, children and vars",
    additionalProperties: { $ref: '#/$defs/group' },
    $defs: {
      group: {
        anyOf: [
          { type: 'null' },
          {
            type: 'object',
            properties: {
              hosts: { type: 'object', additionalProperties: hostEntry, description: 'host name (or range web[1:3]) -> its variables' },
              children: { type: 'object', additionalProperties: { $ref: '#/$defs/group' } },
              vars: { $ref: '#/$defs/vars' },
            },
            additionalProperties: false,
          },
        ],
      },
    },
  };
}

function moduleArgs(mod: ModuleDef): Json {
  const json = fromZod(mod.schema);
  const props = json.properties as Record<string, Json> | undefined;
  if (props && mod.aliases) {
    for (const [alias, name] of Object.entries(mod.aliases)) if (props[name] && !props[alias]) props[alias] = { ...props[name], description: `alias of ${name}` };
  }
  // `name=x state=y` and a module's free-form string (command) are strings
  return { anyOf: [templatable(json), { type: 'string' }] };
}

const TASK_KEYWORDS: Json = {
  name: { type: 'string' },
  when: { anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { type: 'string' } }] },
  tags: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  notify: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  become: { type: 'boolean' },
  no_log: { type: 'boolean' },
};

function playbookSchema(modules: Record<string, ModuleDef>, roles: Record<string, RoleDef>): Json {
  const moduleTasks = Object.entries(modules).flatMap(([name, mod]) =>
    [name, `ansible.builtin.${name}`].map((key) => ({
      type: 'object',
      required: [key],
      properties: { ...TASK_KEYWORDS, [key]: { $ref: `#/$defs/args_${name}` } },
      description: mod.summary,
    })),
  );
  // Ansible's structural tasks (blocks, includes) carry tasks or a file instead of a module
  const structural = ['block', 'include_tasks', 'import_tasks', 'include_role', 'import_role', 'meta', 'set_fact'].map((key) => ({
    type: 'object',
    required: [key],
  }));
  const roleEntries = Object.values(roles).map((r) => ({
    type: 'object',
    required: ['role'],
    properties: {
      role: { const: r.name, description: r.summary },
      vars: templatable({ type: 'object', properties: (fromZod(r.vars).properties ?? {}) as Json, additionalProperties: true }),
      tags: TASK_KEYWORDS.tags,
      when: TASK_KEYWORDS.when,
      become: { type: 'boolean' },
    },
  }));
  const taskList = { type: 'array', items: { $ref: '#/$defs/task' } };
  return {
    type: 'array',
    description: 'a playbook: a list of plays',
    items: {
      type: 'object',
      required: ['hosts'],
      properties: {
        name: { type: 'string' },
        hosts: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], description: 'names, groups, globs, web*:!web3' },
        become: { type: 'boolean' },
        gather_facts: { type: 'boolean' },
        vars: { $ref: '#/$defs/vars' },
        vars_files: { type: 'array', items: { type: 'string' } },
        tags: TASK_KEYWORDS.tags,
        roles: { type: 'array', items: { anyOf: [{ enum: Object.keys(roles) }, ...roleEntries] } },
        pre_tasks: taskList,
        tasks: taskList,
        post_tasks: taskList,
        handlers: taskList,
      },
    },
    $defs: {
      task: { anyOf: [...moduleTasks, ...structural] },
      ...Object.fromEntries(Object.entries(modules).map(([name, mod]) => [`args_${name}`, moduleArgs(mod)])),
    },
  };
}

export function buildSchemas(modules: Record<string, ModuleDef>, roles: Record<string, RoleDef>): SchemaSet {
  const vars = varsSchema(roles);
  const head = (title: string) => ({ $schema: DRAFT, title });
  return {
    inventory: { ...head('shipshape inventory (hosts.yml)'), ...withVars(inventorySchema(), vars) },
    vars: { ...head('shipshape group_vars / host_vars file'), ...vars },
    playbook: { ...head('shipshape playbook'), ...withVars(playbookSchema(modules, roles), vars) },
  };
}

function withVars(schema: Json, vars: Json): Json {
  return { ...schema, $defs: { ...(schema.$defs as Json), vars } };
}
