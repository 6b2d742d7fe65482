/**
 * The seam between the wizard's flow and a terminal: the flow asks through this interface only, so
 * tests drive it with scripted answers and the prompt library stays behind one file (inquirer.ts).
 */
export interface Choice<T extends string> {
  value: T;
  name: string;
  description?: string;
  checked?: boolean;
}

export interface Ui {
  input(o: { message: string; default?: string; validate?: (v: string) => string | true }): Promise<string>;
  confirm(o: { message: string; default: boolean }): Promise<boolean>;
  select<T extends string>(o: { message: string; choices: Choice<T>[]; default?: T }): Promise<T>;
  checkbox<T extends string>(o: { message: string; choices: Choice<T>[]; validate?: (chosen: T[]) => string | true }): Promise<T[]>;
  password(o: { message: string }): Promise<string>;
}

/** Ctrl-C in a prompt: the command exits 130 without writing anything more. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}
