import { z } from 'zod';

const SECRET = /PASSWORD|SECRET|TOKEN|KEY/i;

/** Thrown when the environment does not satisfy a service's config schema. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: ReadonlyArray<{ variable: string; message: string }>,
  ) {
    super(
      `${service}: invalid configuration:\n` +
        problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/**
 * Validates `env` against a zod object schema whose keys are environment variable
 * names. Returns the parsed (typed, defaulted, coerced) config or throws a
 * ConfigError naming every bad or missing variable.
 */
export function loadConfig<S extends z.ZodObject>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const [head, ...rest] = issue.path.map(String);
    const variable = head ?? '(root)';
    const received = env[variable];
    if (received === undefined && issue.code === 'invalid_type') return { variable, message: 'is required but not set' };
    const where = rest.length ? ` (entry ${rest.join('.')})` : '';
    const shown = received === undefined ? '' : ` (got ${SECRET.test(variable) ? '<redacted>' : JSON.stringify(received)})`;
    return { variable, message: `${issue.message}${where}${shown}` };
  });
  throw new ConfigError(service, problems);
}

/**
 * Loads config or, on error, prints the message and exits the process with code 78
 * (EX_CONFIG) before anything else boots.
 */
export function loadConfigOrExit<S extends z.ZodObject>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  try {
    return loadConfig(service, schema, env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
}
