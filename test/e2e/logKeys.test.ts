/**
 * Log lines over a whole chat: every line is one JSON object without a repeated key (a child logger
 * given a key its parent already set writes it twice, which JSON parsers silently collapse).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/runtime/logger.ts';
import { startStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv } from '../helpers/operator.ts';

/** The keys of a JSON object's top level, in order, repeats included. */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i += 1) {
    const ch = json[i];
    if (ch === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const after = json.slice(end + 1).trimStart();
      if (depth === 1 && after.startsWith(':')) keys.push(JSON.parse(json.slice(i, end + 1)) as string);
      i = end;
    } else if (ch === '{' || ch === '[') depth += 1;
    else if (ch === '}' || ch === ']') depth -= 1;
  }
  return keys;
}

describe('log lines', () => {
  it('finds repeated keys when there are some', () => {
    expect(topLevelKeys('{"a":1,"b":{"a":2},"c":"x\\"y:","a":3}')).toEqual(['a', 'b', 'c', 'a']);
  });

  it('carry no key twice over a whole chat, callbacks and platform requests included', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const stack = await startStack({ logger: createLogger('debug', sink), env: operatorEnv() });
    try {
      const customer = await AnonCustomer.start(stack.saUrl, { name: 'Logged Customer' });
      try {
        await customer.waitForMessage((m) => m.from !== stack.sa.config.chat.helpdeskName);
        await customer.send('hello');
        await customer.leave();
        await eventually(
          async () => stack.sa.sessions.list()[0]?.state,
          (state) => expect(state).toBe('terminated'),
        );
      } finally {
        await customer.close();
      }
    } finally {
      await stack.close();
    }
    const components = new Set(lines.map((line) => (JSON.parse(line) as { component?: string }).component));
    expect(components).toContain('callbacks');
    expect(components).toContain('platform-client');
    const repeated = lines.filter((line) => {
      const keys = topLevelKeys(line);
      return new Set(keys).size !== keys.length;
    });
    expect(repeated).toEqual([]);
  });
});
