/**
 * What the configuration loaders read, recorded as they read it: `carechat <command> --help` lists every
 * environment variable a command reads with its default, and `carechat config` shows the effective value
 * of each and where it came from. The list is never copied by hand: a recording environment (a Proxy over
 * the real one) notes each name a loader reads, and the loaders note their defaults with `noteDefault`.
 */

export type Env = Record<string, string | undefined>;

/** One setting as a loader read it. */
export interface SettingRead {
  name: string;
  /** The value used when the variable is unset or empty (as text); undefined: none. */
  default?: string;
  /** The loader refuses to start without it (no default). */
  required?: boolean;
}

const RECORDER = Symbol('carechat.settingsRecorder');

/** Records what loaders read from the environment it wraps, in the order they first read it. */
export class SettingsRecorder {
  private readonly reads = new Map<string, SettingRead>();

  /** The environment to hand the loaders: `base` (default: empty), with every read recorded here. */
  env(base: Env = {}): Env {
    return new Proxy(base, {
      get: (target, property) => {
        if (property === RECORDER) return this;
        if (typeof property === 'string') this.note(property);
        return typeof property === 'string' ? target[property] : undefined;
      },
      has: (target, property) => {
        if (typeof property === 'string') this.note(property);
        return property in target;
      },
    });
  }

  note(name: string, detail: Omit<SettingRead, 'name'> = {}): void {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) return; // not an environment variable name (e.g. toJSON)
    const known = this.reads.get(name) ?? { name };
    this.reads.set(name, {
      ...known,
      ...(detail.default !== undefined ? { default: detail.default } : {}),
      ...(detail.required ? { required: true } : {}),
    });
  }

  list(): SettingRead[] {
    return [...this.reads.values()];
  }
}

/**
 * Notes a setting's default (or that it is required) when `env` is a recording environment; does nothing
 * for a plain one. Loaders call it beside each read.
 */
export function noteDefault(env: Env, name: string, fallback: string | undefined, required = false): void {
  const recorder = (env as { [RECORDER]?: SettingsRecorder })[RECORDER];
  recorder?.note(name, { ...(fallback !== undefined ? { default: fallback } : {}), required });
}

/** Settings whose values are never printed (tokens, secrets, passwords). */
export function isSecretSetting(name: string): boolean {
  return /SECRET|PASSWORD|PRIVATE_KEY|TOKEN$/.test(name);
}
