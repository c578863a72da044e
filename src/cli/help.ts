/**
 * `carechat <command> --help` and `carechat config`: what a command does and every environment variable
 * it reads, with defaults, taken from the configuration loaders themselves (they run over a recording
 * environment; see src/config/settings.ts), so the list cannot drift from the code.
 */
import { type Env, isSecretSetting, type SettingRead, SettingsRecorder } from '../config/settings.ts';
import { redactUrl } from '../store/settings.ts';

export interface CommandHelp {
  usage: string;
  /** What the command does, one paragraph of lines. */
  about: string[];
  /** Options, one line each (already aligned). */
  options?: string[];
  /** Runs the command's configuration loaders over `env` (problems ignored). */
  readSettings?: (env: Env) => void;
}

/** Every setting the loaders read, in order, with the defaults they noted. */
export function settingsRead(read: (env: Env) => void, base: Env = {}): SettingRead[] {
  const recorder = new SettingsRecorder();
  try {
    read(recorder.env(base));
  } catch {
    // A configuration problem (an invalid value in `base`) does not hide the settings read before it.
  }
  return recorder.list();
}

function shownDefault(setting: SettingRead): string {
  if (setting.required) return '(required)';
  if (setting.default === undefined) return '(unset)';
  if (setting.default === '') return '(empty)';
  return isSecretSetting(setting.name) ? '(a built-in demo value, hidden)' : setting.default;
}

export function formatHelp(help: CommandHelp): string {
  const lines = [help.usage, '', ...help.about];
  if (help.options?.length) lines.push('', 'Options:', ...help.options.map((o) => `  ${o}`));
  const settings = help.readSettings ? settingsRead(help.readSettings) : [];
  if (settings.length) {
    const width = Math.max(...settings.map((s) => s.name.length));
    lines.push(
      '',
      'Settings (environment variables, with their defaults):',
      ...settings.map((s) => `  ${s.name.padEnd(width)}  ${shownDefault(s)}`),
    );
  } else lines.push('', 'Settings: none (this command reads no environment variables).');
  return lines.join('\n');
}

export interface EffectiveSetting {
  name: string;
  /** The value in force, secrets redacted; undefined: unset. */
  value: string | undefined;
  source: 'environment' | 'default' | 'unset' | 'missing';
}

/** The value of each setting `read` reads from `env`, where it came from, secrets redacted. */
export function effectiveSettings(read: (env: Env) => void, env: Env): EffectiveSetting[] {
  return settingsRead(read, env).map((setting) => {
    const raw = env[setting.name]?.trim();
    const fromEnv = raw !== undefined && raw !== '';
    const value = fromEnv ? raw : setting.default;
    const source = fromEnv
      ? 'environment'
      : setting.default !== undefined
        ? 'default'
        : setting.required
          ? 'missing'
          : 'unset';
    return {
      name: setting.name,
      value: value === undefined ? undefined : redact(setting.name, value),
      source,
    };
  });
}

function redact(name: string, value: string): string {
  if (isSecretSetting(name)) return value === '' ? '' : '[redacted]';
  if (name === 'DATABASE_URL' || /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value)) return redactUrl(value);
  return value;
}
