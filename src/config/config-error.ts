/**
 * A refusal to start (or to reload) because of what the operator wrote: a flag, an environment
 * variable or the client services file. The message is one line that names the culprit and the
 * expected form, because it is printed as is and must be fixable without reading code.
 */
export class ConfigError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ConfigError';
  }
}
