/**
 * Ansible host ranges in inventory host names: `web[01:03].example.com` is web01..web03 (a leading
 * zero keeps the width), `db-[a:c]` is db-a..db-c, `[1:9:2]` takes a step. Several ranges multiply.
 * Returns undefined when the name has no range; throws a plain Error with the reason when the
 * range is malformed (the caller positions it).
 */
export function expandHostRange(name: string): string[] | undefined {
  const m = /\[([^\]:]*):([^\]:]*)(?::([^\]]*))?\]/.exec(name);
  if (!m) return undefined;
  const [whole, from, to, stepText] = m;
  const head = name.slice(0, m.index);
  const tail = name.slice(m.index + whole.length);
  const step = stepText === undefined ? 1 : Number(stepText);
  if (!Number.isInteger(step) || step < 1) throw new Error(`bad step \`${stepText}\` in host range \`${whole}\``);
  const values: string[] = [];
  if (/^\d+$/.test(from) && /^\d+$/.test(to)) {
    const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
    const a = Number(from);
    const b = Number(to);
    if (a > b) throw new Error(`host range \`${whole}\` runs backwards`);
    for (let i = a; i <= b; i += step) values.push(String(i).padStart(width, '0'));
  } else if (/^[a-z]$/i.test(from) && /^[a-z]$/i.test(to)) {
    const a = from.charCodeAt(0);
    const b = to.charCodeAt(0);
    if (a > b) throw new Error(`host range \`${whole}\` runs backwards`);
    for (let c = a; c <= b; c += step) values.push(String.fromCharCode(c));
  } else {
    throw new Error(`host range \`${whole}\` needs two numbers or two letters, like [01:10] or [a:f]`);
  }
  return values.flatMap((v) => {
    const rest = head + v + tail;
    return expandHostRange(rest) ?? [rest];
  });
}
