/**
 * The compiled CLI explains itself: `--help` on every command names what it does and every setting it
 * reads with its default (taken from the configuration loaders), and `carechat config` prints the
 * effective configuration with secrets redacted and where each value came from.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/carechat.js', import.meta.url));

function carechat(args: string[], env: Record<string, string> = {}) {
  // Only the machine basics from this process: a developer's own settings must not leak into the output.
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `NAME  default` lines of a help text's settings section. */
function settingsOf(help: string): Map<string, string> {
  const section = help.split('Settings (environment variables, with their defaults):\n')[1] ?? '';
  return new Map(
    section
      .split('\n')
      .filter((line) => /^ {2}[A-Z]/.test(line))
      .map((line) => {
        const [, name, value] = /^ {2}([A-Z0-9_]+)\s+(.*)$/.exec(line)!;
        return [name!, value!];
      }),
  );
}

describe('carechat <command> --help', () => {
  it.each(['start', 'sa', 'emulator', 'viz', 'bench', 'migrate', 'config'])(
    '%s --help says what it does and exits 0',
    (command) => {
      const { code, stdout } = carechat([command, '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^usage: carechat ${command}\\b`));
      expect(stdout.split('\n')[2]!.length).toBeGreaterThan(20); // a sentence about what it does
      expect(stdout).toMatch(/Settings/);
    },
  );

  it('start --help lists every setting its loaders read, with defaults', () => {
    const settings = settingsOf(carechat(['start', '--help']).stdout);
    expect(settings.get('PORT')).toBe('3000');
    expect(settings.get('EMULATOR_PORT')).toBe('3001');
    expect(settings.get('LOG_FORMAT')).toBe('pretty on a terminal, else json');
    expect(settings.get('AGENT_CAPACITY')).toBe('2');
    expect(settings.get('SESSION_TTL')).toBe('8h');
    expect(settings.get('METRICS_TOKEN')).toBe('(empty)');
    expect(settings.get('WEBHOOK_RETRY_BASE_MS')).toBe('5000');
    // The demo tenant's secret is a default, but never printed.
    expect(settings.get('AAD_CLIENT_SECRET')).toBe('(a built-in demo value, hidden)');
    expect(settings.get('OPERATOR_API_TOKEN')).toBe('(unset)');
    expect(settings.size).toBeGreaterThan(45);
  });

  it('sa --help marks the settings the SA cannot run without', () => {
    const settings = settingsOf(carechat(['sa', '--help']).stdout);
    expect(settings.get('TENANT_ID')).toBe('(required)');
    expect(settings.get('AAD_CLIENT_SECRET')).toBe('(required)');
    expect(settings.get('HOST')).toBe('127.0.0.1');
  });

  it('migrate --help lists the store settings; viz --help its options', () => {
    const migrate = settingsOf(carechat(['migrate', '--help']).stdout);
    expect([...migrate.keys()].sort()).toEqual(['DATABASE_URL', 'DATA_DIR', 'LEASE_MS', 'RETENTION_DAYS']);
    expect(migrate.get('DATA_DIR')).toBe('./data');
    const viz = carechat(['viz', '--help']).stdout;
    expect(viz).toMatch(/--check/);
    expect(viz).toMatch(/reads no environment variables/);
  });
});

describe('carechat config', () => {
  it('prints each setting with its value and source, secrets redacted', () => {
    const { code, stdout } = carechat(['config'], {
      LOG_LEVEL: 'debug',
      AAD_CLIENT_SECRET: 'very-secret-value',
      OPERATOR_API_TOKEN: 'operator-token-0123456789abcdef',
    });
    expect(code).toBe(0);
    const rows = new Map(
      stdout
        .split('\n')
        .filter((line) => /^[A-Z]/.test(line))
        .map((line) => {
          const parts = line.split(/\s{2,}/);
          return [parts[0]!, { value: parts.length === 3 ? parts[1]! : '', source: parts.at(-1)! }];
        }),
    );
    expect(stdout).toMatch(/^# carechat start: effective configuration \(secrets redacted\)/);
    expect(rows.get('LOG_LEVEL')).toEqual({ value: 'debug', source: 'environment' });
    expect(rows.get('PORT')).toEqual({ value: '3000', source: 'default' });
    expect(rows.get('AAD_CLIENT_SECRET')).toEqual({ value: '[redacted]', source: 'environment' });
    expect(rows.get('OPERATOR_API_TOKEN')).toEqual({ value: '[redacted]', source: 'environment' });
    expect(rows.get('OIDC_CLIENT_SECRET')).toEqual({ value: '[redacted]', source: 'default' });
    expect(rows.get('SESSION_SECRET')).toEqual({ value: '', source: 'unset' });
    expect(stdout).not.toContain('very-secret-value');
    expect(stdout).not.toContain('operator-token-0123456789abcdef');
  });

  it('for the SA alone: required settings are missing, and the problems go to stderr with exit 1', () => {
    const { code, stdout, stderr } = carechat(['config', 'sa'], { AGENT_CAPACITY: 'many' });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^TENANT_ID\s+missing$/m);
    expect(stdout).toMatch(/^AGENT_CAPACITY\s+many\s+environment$/m);
    expect(stderr).toMatch(/AGENT_CAPACITY="many": expected an integer/);
    expect(stderr).toMatch(/TENANT_ID is required/);
  });
});

describe('a busy port', () => {
  it.each(['PORT', 'EMULATOR_PORT'])('names %s', async (setting) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const env = { PORT: '0', EMULATOR_PORT: '0', LOG_LEVEL: 'silent', [setting]: String(port) };
      const { code, stderr } = carechat(['start'], env);
      expect(code).toBe(1);
      expect(stderr).toContain(
        `carechat start: port 127.0.0.1:${port} is already in use: set ${setting} to a free port`,
      );
    } finally {
      blocker.close();
    }
  });
});

describe('LOG_FORMAT', () => {
  it('refuses a value it does not know, naming the setting', () => {
    const { code, stderr } = carechat(['start'], { LOG_FORMAT: 'xml', PORT: '0', EMULATOR_PORT: '0' });
    expect(code).toBe(1);
    expect(stderr).toContain('LOG_FORMAT="xml": expected one of json, pretty');
  });
});
