import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { logFormatFrom } from '../config/logging.ts';
import { createLogger } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes one JSON object a line by default', () => {
    const { lines, stream } = capture();
    createLogger('info', stream).info({ sessionId: 's1' }, 'chat ended');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, msg: 'chat ended', sessionId: 's1' });
  });

  it('writes human-readable lines when the format is pretty', () => {
    const { lines, stream } = capture();
    createLogger('info', stream, 'pretty').info({ sessionId: 's1' }, 'chat ended');
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: chat ended$/);
    expect(lines[1]).toMatch(/sessionId: "s1"/);
    expect(() => JSON.parse(lines[0]!)).toThrow();
  });
});

describe('LOG_FORMAT', () => {
  it('is pretty on a terminal and JSON otherwise unless set', () => {
    expect(logFormatFrom({}, true)).toBe('pretty');
    expect(logFormatFrom({}, false)).toBe('json');
    expect(logFormatFrom({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormatFrom({ LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(() => logFormatFrom({ LOG_FORMAT: 'xml' }, false)).toThrow(/^LOG_FORMAT="xml": expected one of/);
  });
});
