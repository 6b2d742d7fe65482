/**
 * The one file that talks to @inquirer/prompts. Only used when stdin and stdout are terminals:
 * the library hangs on a silent open stdin and throws on /dev/null. Its Ctrl-C (raw mode turns it
 * into a key, not a signal) becomes Interrupted, which the command turns into exit 130.
 */
import type { Choice, Ui } from './ui.js';
import { Interrupted } from './ui.js';

async function guarded<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (err) {
    if ((err as Error).name === 'ExitPromptError' || (err as Error).name === 'AbortPromptError') throw new Interrupted();
    throw err;
  }
}

export async function inquirerUi(): Promise<Ui> {
  const p = await import('@inquirer/prompts');
  return {
    input: (o) => guarded(() => p.input({ message: o.message, default: o.default, validate: o.validate })),
    confirm: (o) => guarded(() => p.confirm({ message: o.message, default: o.default })),
    select: <T extends string>(o: { message: string; choices: Choice<T>[]; default?: T }) =>
      guarded(() => p.select<T>({ message: o.message, choices: o.choices.map((c) => ({ value: c.value, name: c.name, description: c.description })), default: o.default })),
    checkbox: <T extends string>(o: { message: string; choices: Choice<T>[]; validate?: (chosen: T[]) => string | true }) =>
      guarded(() =>
        p.checkbox<T>({
          message: o.message,
          choices: o.choices.map((c) => ({ value: c.value, name: c.name, checked: c.checked ?? false })),
          validate: o.validate ? (items) => o.validate!(items.map((i) => i.value)) : undefined,
        }),
      ),
    password: (o) => guarded(() => p.password({ message: o.message, mask: '*' })),
  };
}
