import { describe, expect, it } from 'vitest';
import { decodeDataUri, encodeDataUri } from './dataUri.ts';
import { netDate, parseWireDate } from './dates.ts';
import { findEmbedded, findLink } from './hal.ts';
import { cleanHref, queryParam, resolveHref, sameResource, withQuery } from './href.ts';
import { parseJsonText } from './json.ts';
import { localRel, qualifyRel } from './rels.ts';

describe('rels', () => {
  it('strips either prefix to the local name', () => {
    expect(localRel('ms:rtc:saas:acceptAndBridge')).toBe('acceptAndBridge');
    expect(localRel('service:acceptAndBridge')).toBe('acceptAndBridge');
    expect(localRel('self')).toBe('self');
  });
  it('qualifies resource rels but keeps bare rels bare', () => {
    expect(qualifyRel('conversation', 'service:')).toBe('service:conversation');
    expect(qualifyRel('plainMessage', 'ms:rtc:saas:')).toBe('plainMessage');
  });
});

describe('hal', () => {
  const resource = {
    _links: { self: { href: '/a' }, 'service:conversation': { href: '/c' } },
    _embedded: { 'ms:rtc:saas:from': { uri: 'sip:x@y' } },
  };
  it('finds links and embedded resources under any prefix', () => {
    expect(findLink(resource, 'conversation')?.href).toBe('/c');
    expect(findEmbedded(resource, 'from')).toEqual({ uri: 'sip:x@y' });
    expect(findLink(resource, 'missing')).toBeUndefined();
  });
});

describe('hrefs', () => {
  it('resolves a host-relative href against a baseuri that carries a path', () => {
    expect(
      resolveHref('/platformservice/x?a=1', 'https://pool.example/platformservice/v1/applications'),
    ).toBe('https://pool.example/platformservice/x?a=1');
  });
  it('keeps an absolute href as it is', () => {
    expect(resolveHref('https://other.example/y', 'https://pool.example')).toBe('https://other.example/y');
  });
  it('undoes the double escaped ampersand of the captures', () => {
    expect(cleanHref('/a?x=1\\u0026y=2')).toBe('/a?x=1&y=2');
  });
  it('adds query parameters with a URL builder, keeping the existing ones', () => {
    expect(withQuery('/m/messages?endpointId=sip:a@b', { operationId: 'op 1' })).toBe(
      '/m/messages?endpointId=sip%3Aa%40b&operationId=op+1',
    );
    expect(withQuery('https://h.example/m', { a: 'b' })).toBe('https://h.example/m?a=b');
  });
  it('reads query parameters case-insensitively', () => {
    expect(queryParam('/a?endpointid=sip:x@y', 'endpointId')).toBe('sip:x@y');
  });
  it('compares resources by decoded, lower-cased path', () => {
    expect(sameResource('https://h/a/B%40c?x=1', '/a/b@C')).toBe(true);
    expect(sameResource('/a/b', '/a/c')).toBe(false);
  });
});

describe('bodies', () => {
  it('parses JSON behind a byte-order mark', () => {
    expect(parseJsonText('\ufeff{"a":1}')).toEqual({ a: 1 });
  });
  it('names the problem with a malformed body', () => {
    expect(() => parseJsonText('{"a":')).toThrow(/not valid JSON/);
    expect(() => parseJsonText('')).toThrow(/empty/);
  });
  it('round-trips message text through a form-encoded data URI', () => {
    const uri = encodeDataUri('Hello there, <b>you</b> & 100%');
    expect(uri.startsWith('data:text/plain;charset=utf-8,Hello+there%2c')).toBe(true);
    expect(decodeDataUri(uri).text).toBe('Hello there, <b>you</b> & 100%');
    expect(decodeDataUri('data:text/plain;charset=utf-8,Welcome+customer').text).toBe('Welcome customer');
  });
  it('reads both timestamp forms', () => {
    expect(parseWireDate('/Date(1489524122496)/')?.toISOString()).toBe('2017-03-14T20:42:02.496Z');
    expect(parseWireDate('2016-12-15T20:05:08.631Z')?.getTime()).toBe(1481832308631);
    expect(parseWireDate('nonsense')).toBeUndefined();
    expect(netDate(5)).toBe('/Date(5)/');
  });
});
