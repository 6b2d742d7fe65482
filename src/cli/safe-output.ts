import { redact } from '../core/redact.js';

/**
 * Every byte the CLI prints goes through process.stdout/stderr.write: progress (listr), plain lines,
 * the recap, --json, diffs, host errors, input errors and stack traces alike. Filtering the two
 * streams here is the one place that masks secret values for all of them, including output paths
 * added later. Text is filtered per write call; every printer writes whole lines or documents.
 */
export function maskSecretsInOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string') return write(redact(chunk), ...rest);
      if (chunk instanceof Uint8Array) return write(redact(Buffer.from(chunk).toString('utf8')), ...rest);
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}
