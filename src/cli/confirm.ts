/**
 * The one seam to the prompt library, so tests replace it. Only called when stdin and stdout are
 * terminals: @inquirer hangs on a silent open stdin and throws on /dev/null.
 */
export async function confirm(message: string): Promise<boolean> {
  const { confirm: ask } = await import('@inquirer/prompts');
  return ask({ message, default: false });
}
