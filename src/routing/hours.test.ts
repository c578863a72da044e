import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../test/helpers/routingFixtures.ts';
import { RoutingError } from './errors.ts';
import { type BusinessHours, formatBusinessHours, isOpen, nextOpening, parseBusinessHours } from './hours.ts';

const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s, ms);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

function hours(spec: string): BusinessHours {
  const parsed = parseBusinessHours(spec);
  if (parsed === 'always') throw new Error('expected concrete hours');
  return parsed;
}

const BERLIN = hours('Europe/Berlin mon-fri 09:00-17:30; sat 10:00-14:00; holidays 2026-12-25,2026-12-26');
const NEW_YORK = hours('America/New_York mon-fri 09:00-17:00');

describe('parseBusinessHours', () => {
  it('reads the documented example into days, ranges and holidays', () => {
    const weekday: Array<[string, string]> = [['09:00', '17:30']];
    expect(BERLIN).toEqual({
      timeZone: 'Europe/Berlin',
      days: {
        mon: weekday,
        tue: weekday,
        wed: weekday,
        thu: weekday,
        fri: weekday,
        sat: [['10:00', '14:00']],
        sun: [],
      },
      holidays: ['2026-12-25', '2026-12-26'],
    });
  });

  it('reads "always" in any case', () => {
    expect(parseBusinessHours('always')).toBe('always');
    expect(parseBusinessHours('  Always ')).toBe('always');
  });

  it('accepts several ranges a day, day lists, wrapping day ranges, loose spacing and one-digit hours', () => {
    const h = hours('UTC  mon,wed 9:00-12:00, 13:00-17:00 ;fri-sun 08:00-10:00;');
    expect(h.days.mon).toEqual([
      ['09:00', '12:00'],
      ['13:00', '17:00'],
    ]);
    expect(h.days.tue).toEqual([]);
    expect(h.days.wed).toEqual(h.days.mon);
    expect([h.days.fri, h.days.sat, h.days.sun]).toEqual([
      [['08:00', '10:00']],
      [['08:00', '10:00']],
      [['08:00', '10:00']],
    ]);
    expect(h).not.toHaveProperty('holidays');
    const wrap = hours('UTC sat-mon 10:00-11:00');
    expect(
      Object.entries(wrap.days)
        .filter(([, r]) => r.length > 0)
        .map(([d]) => d),
    ).toEqual(['mon', 'sat', 'sun']);
  });

  it('merges overlapping ranges, sorts them, and de-duplicates holidays', () => {
    const h = hours(
      'UTC mon 13:00-17:00,09:00-12:00; mon 11:00-14:00; holidays 2026-12-26,2026-12-25,2026-12-26',
    );
    expect(h.days.mon).toEqual([['09:00', '17:00']]);
    expect(h.holidays).toEqual(['2026-12-25', '2026-12-26']);
  });

  it('accepts 24:00 as the end of a day and "closed" for a day named on purpose', () => {
    const h = hours('UTC fri 22:00-24:00; sat 00:00-02:00; sun closed');
    expect(h.days.fri).toEqual([['22:00', '24:00']]);
    expect(h.days.sun).toEqual([]);
  });

  it('writes parsed hours back as text that parses to the same value', () => {
    expect(formatBusinessHours(BERLIN)).toBe(
      'Europe/Berlin mon-fri 09:00-17:30; sat 10:00-14:00; holidays 2026-12-25,2026-12-26',
    );
    const odd = hours('Asia/Tokyo mon,wed 9:00-12:00,13:00-17:00; sun 10:00-11:00');
    expect(formatBusinessHours(odd)).toBe(
      'Asia/Tokyo mon 09:00-12:00,13:00-17:00; wed 09:00-12:00,13:00-17:00; sun 10:00-11:00',
    );
    expect(parseBusinessHours(formatBusinessHours(odd))).toEqual(odd);
    expect(formatBusinessHours('always')).toBe('always');
  });

  it.each([
    ['', 'business hours are empty; write them as e.g.'],
    ['   ', 'business hours are empty'],
    [
      'mon-fri 09:00-17:00',
      'they must start with an IANA time zone such as Europe/Berlin or UTC, got "mon-fri"',
    ],
    [
      'holidays 2026-12-25',
      'they must start with an IANA time zone such as Europe/Berlin or UTC, got "holidays"',
    ],
    [
      'Europe/Berln mon 09:00-10:00',
      'unknown time zone "Europe/Berln"; use an IANA name such as Europe/Berlin',
    ],
    ['UTC mnday 09:00-10:00', 'unknown day "mnday"; days are mon tue wed thu fri sat sun'],
    ['UTC mon-frii 09:00-10:00', 'unknown day "frii" in "mon-frii"'],
    ['UTC mon-tue-wed 09:00-10:00', '"mon-tue-wed" is not a day or a day range like mon-fri'],
    ['UTC mon', '"mon" names days but no times; add a range such as 09:00-17:30, or "closed"'],
    ['UTC mon 9-17', '"9-17" in "mon 9-17" is not a time range like 09:00-17:30'],
    ['UTC mon 09:00-17:00,', '"" in "mon 09:00-17:00," is not a time range'],
    [
      'UTC mon 17:00-09:00',
      '"17:00-09:00" in "mon 17:00-09:00" does not end after it starts; a range cannot cross midnight',
    ],
    ['UTC mon 09:00-09:00', 'does not end after it starts'],
    ['UTC mon 25:00-26:00', '"25:00-26:00" has a time that does not exist; use 00:00 to 24:00'],
    ['UTC mon 09:60-10:00', 'has a time that does not exist'],
    ['UTC mon 24:30-24:45', 'has a time that does not exist'],
    ['UTC mon 24:00-24:00', 'starts at 24:00; a day starts at 00:00'],
    ['UTC mon 09:00-10:00; holidays', '"holidays" needs dates'],
    ['UTC mon 09:00-10:00; holidays 2026-02-30', 'holiday "2026-02-30" is not a calendar date'],
    ['UTC mon 09:00-10:00; holidays 25.12.2026', 'holiday "25.12.2026" is not a YYYY-MM-DD date'],
    ['UTC mon 09:00-10:00; holidays 2026-12-25,,2026-12-26', 'empty date in'],
    ['UTC', 'no opening times; add e.g. "mon-fri 09:00-17:30"'],
    ['UTC sun closed', 'no opening times (every day named is closed)'],
  ])('rejects %j, naming what is wrong', (spec, message) => {
    expect(() => parseBusinessHours(spec)).toThrow(RoutingError);
    expect(() => parseBusinessHours(spec)).toThrow(message);
  });

  it('quotes the whole spec in the error so the setting can be found', () => {
    expect(() => parseBusinessHours('Europe/Berlin mon 9-17')).toThrow(
      /^business hours "Europe\/Berlin mon 9-17": /,
    );
  });

  it('rejects a value that is not text', () => {
    expect(() => parseBusinessHours(42 as never)).toThrow('business hours must be a string');
  });
});

describe('isOpen', () => {
  it('is always open for "always"', () => {
    expect(isOpen('always', utc(2026, 12, 25, 3))).toBe(true);
  });

  it('opens at the start and closes at the end of a range, in the zone’s winter time (Berlin, UTC+1)', () => {
    // Monday 12 January 2026.
    expect(isOpen(BERLIN, utc(2026, 1, 12, 7, 59, 59, 999))).toBe(false);
    expect(isOpen(BERLIN, utc(2026, 1, 12, 8, 0))).toBe(true);
    expect(isOpen(BERLIN, utc(2026, 1, 12, 16, 29, 59, 999))).toBe(true);
    expect(isOpen(BERLIN, utc(2026, 1, 12, 16, 30))).toBe(false);
  });

  it('follows summer time: the same 09:00 is an hour earlier in UTC (Berlin, UTC+2)', () => {
    // Monday 13 July 2026.
    expect(isOpen(BERLIN, utc(2026, 7, 13, 6, 59))).toBe(false);
    expect(isOpen(BERLIN, utc(2026, 7, 13, 7, 0))).toBe(true);
    expect(isOpen(BERLIN, utc(2026, 7, 13, 15, 29))).toBe(true);
    expect(isOpen(BERLIN, utc(2026, 7, 13, 15, 30))).toBe(false);
  });

  it('switches with the clocks in the week of the spring change (Berlin, 29 March 2026)', () => {
    expect(isOpen(BERLIN, utc(2026, 3, 27, 7, 30))).toBe(false); // Fri 08:30 CET
    expect(isOpen(BERLIN, utc(2026, 3, 27, 8, 0))).toBe(true); // Fri 09:00 CET
    expect(isOpen(BERLIN, utc(2026, 3, 30, 7, 0))).toBe(true); // Mon 09:00 CEST
    expect(isOpen(BERLIN, utc(2026, 3, 30, 6, 59))).toBe(false); // Mon 08:59 CEST
  });

  it('follows New York daylight saving time (UTC-5 in winter, UTC-4 in summer)', () => {
    expect(isOpen(NEW_YORK, utc(2026, 3, 6, 13, 30))).toBe(false); // Fri 08:30 EST
    expect(isOpen(NEW_YORK, utc(2026, 3, 6, 14, 0))).toBe(true); // Fri 09:00 EST
    expect(isOpen(NEW_YORK, utc(2026, 3, 9, 13, 0))).toBe(true); // Mon 09:00 EDT
    expect(isOpen(NEW_YORK, utc(2026, 3, 9, 21, 0))).toBe(false); // Mon 17:00 EDT
    expect(isOpen(NEW_YORK, utc(2026, 11, 2, 13, 0))).toBe(false); // Mon 08:00 EST
    expect(isOpen(NEW_YORK, utc(2026, 11, 2, 14, 0))).toBe(true); // Mon 09:00 EST
  });

  it('counts the weekday in the zone, not in UTC', () => {
    // 03:00 UTC on Saturday 10 January 2026 is still Friday 22:00 in New York.
    const late = hours('America/New_York fri 20:00-24:00');
    expect(isOpen(late, utc(2026, 1, 10, 3, 0))).toBe(true);
    expect(isOpen(late, utc(2026, 1, 10, 5, 0))).toBe(false); // Sat 00:00 EST
  });

  it('is closed all day on a holiday, a local date', () => {
    expect(isOpen(BERLIN, utc(2026, 12, 24, 9, 0))).toBe(true); // Thu
    expect(isOpen(BERLIN, utc(2026, 12, 25, 9, 0))).toBe(false); // Fri, holiday
    expect(isOpen(BERLIN, utc(2026, 12, 26, 10, 0))).toBe(false); // Sat, holiday
    const allDay = hours('America/New_York mon-sun 00:00-24:00; holidays 2026-07-03');
    expect(isOpen(allDay, utc(2026, 7, 3, 3, 0))).toBe(true); // 2 July 23:00 EDT
    expect(isOpen(allDay, utc(2026, 7, 4, 2, 0))).toBe(false); // 3 July 22:00 EDT, though UTC says 4 July
    expect(isOpen(allDay, utc(2026, 7, 4, 4, 0))).toBe(true); // 4 July 00:00 EDT
  });

  it('joins a range ending at 24:00 to one starting at 00:00 the next day', () => {
    const night = hours('UTC fri 22:00-24:00; sat 00:00-02:00');
    expect(isOpen(night, utc(2026, 1, 9, 23, 59, 59, 999))).toBe(true);
    expect(isOpen(night, utc(2026, 1, 10, 0, 0))).toBe(true);
    expect(isOpen(night, utc(2026, 1, 10, 2, 0))).toBe(false);
  });

  it('opens when the clocks jump past an opening time that does not exist that day (spring forward)', () => {
    const early = hours('Europe/Berlin sun 02:30-05:00');
    expect(isOpen(early, utc(2026, 3, 29, 0, 59, 59))).toBe(false); // 01:59:59 CET
    expect(isOpen(early, utc(2026, 3, 29, 1, 0))).toBe(true); // 03:00 CEST
  });

  it('closes again when the clocks go back out of a range, and opens twice on an hour that happens twice', () => {
    const early = hours('Europe/Berlin sun 02:30-05:00');
    expect(isOpen(early, utc(2026, 10, 25, 0, 30))).toBe(true); // 02:30 CEST
    expect(isOpen(early, utc(2026, 10, 25, 1, 10))).toBe(false); // 02:10 CET, the second time round
    expect(isOpen(early, utc(2026, 10, 25, 1, 30))).toBe(true); // 02:30 CET
  });

  it('validates hand-built hours as strictly as parsed ones', () => {
    const good = { timeZone: 'UTC', days: { mon: [['09:00', '10:00']] } } as unknown as BusinessHours;
    expect(isOpen(good, utc(2026, 1, 12, 9, 30))).toBe(true); // missing days are closed
    expect(() => isOpen({ ...good, timeZone: 'Mars/Olympus' }, 0)).toThrow(
      'business hours: unknown time zone "Mars/Olympus"',
    );
    expect(() => isOpen({ ...good, days: { mon: [['10:00', '09:00']] } } as never, 0)).toThrow(
      '"10:00-09:00" on mon does not end after it starts',
    );
    expect(() => isOpen({ ...good, days: { tue: ['09:00-10:00'] } } as never, 0)).toThrow(
      'each range on tue must be ["HH:MM", "HH:MM"], got "09:00-10:00"',
    );
    expect(() => isOpen({ ...good, holidays: ['2026-13-01'] }, 0)).toThrow(
      'holiday "2026-13-01" is not a calendar date',
    );
    expect(() => isOpen(null as never, 0)).toThrow("expected parsed business hours or 'always', got null");
    expect(() => isOpen(good, Number.NaN)).toThrow(
      'now must be a finite number of epoch milliseconds, got NaN',
    );
  });
});

describe('nextOpening', () => {
  it('is now while open, and now for "always"', () => {
    const t = utc(2026, 1, 12, 10, 0);
    expect(nextOpening(BERLIN, t)).toBe(t);
    expect(nextOpening('always', t)).toBe(t);
  });

  it('is the next morning after closing time', () => {
    expect(iso(nextOpening(BERLIN, utc(2026, 1, 12, 16, 30)))).toBe('2026-01-13T08:00:00.000Z');
  });

  it('is later the same day before opening time', () => {
    expect(iso(nextOpening(BERLIN, utc(2026, 1, 12, 3, 0)))).toBe('2026-01-12T08:00:00.000Z');
  });

  it('skips the closed Sunday over a weekend', () => {
    expect(iso(nextOpening(BERLIN, utc(2026, 1, 10, 13, 0)))).toBe('2026-01-12T08:00:00.000Z'); // Sat 14:00 CET
  });

  it('lands on local opening time across the spring change (Berlin: Friday CET, Monday CEST)', () => {
    const weekdays = hours('Europe/Berlin mon-fri 09:00-17:30');
    expect(iso(nextOpening(weekdays, utc(2026, 3, 27, 17, 0)))).toBe('2026-03-30T07:00:00.000Z');
  });

  it('lands on local opening time across the autumn change (New York: Friday EDT, Monday EST)', () => {
    expect(iso(nextOpening(NEW_YORK, utc(2026, 10, 30, 21, 0)))).toBe('2026-11-02T14:00:00.000Z');
    expect(iso(nextOpening(NEW_YORK, utc(2026, 3, 6, 22, 0)))).toBe('2026-03-09T13:00:00.000Z');
  });

  it('skips holidays', () => {
    // Thursday 24 December after closing; Friday and Saturday are holidays, Sunday is closed.
    expect(iso(nextOpening(BERLIN, utc(2026, 12, 24, 17, 0)))).toBe('2026-12-28T08:00:00.000Z');
  });

  it('finds an opening behind many holidays', () => {
    const saturdays = Array.from({ length: 10 }, (_, i) => iso(utc(2026, 1, 3 + 7 * i))?.slice(0, 10)).join(
      ',',
    );
    const h = hours(`UTC sat 10:00-11:00; holidays ${saturdays}`);
    expect(iso(nextOpening(h, utc(2026, 1, 1)))).toBe('2026-03-14T10:00:00.000Z');
  });

  it('opens when the clocks jump, for an opening time skipped by spring forward', () => {
    expect(iso(nextOpening(hours('Europe/Berlin sun 02:30-05:00'), utc(2026, 3, 28, 12)))).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    expect(iso(nextOpening(hours('America/New_York sun 02:15-04:00'), utc(2026, 3, 7, 12)))).toBe(
      '2026-03-08T07:00:00.000Z',
    );
  });

  it('finds the second occurrence of an hour that happens twice (autumn)', () => {
    const early = hours('Europe/Berlin sun 02:30-05:00');
    expect(iso(nextOpening(early, utc(2026, 10, 25, 0, 10)))).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
    expect(iso(nextOpening(early, utc(2026, 10, 25, 1, 10)))).toBe('2026-10-25T01:30:00.000Z'); // 02:30 CET
    const ny = hours('America/New_York sun 01:00-01:30');
    expect(iso(nextOpening(ny, utc(2026, 11, 1, 5, 45)))).toBe('2026-11-01T06:00:00.000Z'); // 01:00 EST
  });

  it('finds a reopening caused by the clocks going back into a range', () => {
    const h = hours('Europe/Berlin sun 01:00-02:30');
    // 00:40 UTC is 02:40 CEST (closed); at 01:00 UTC the clocks go back to 02:00 CET, inside the range.
    expect(iso(nextOpening(h, utc(2026, 10, 25, 0, 40)))).toBe('2026-10-25T01:00:00.000Z');
  });

  it('is, for random instants through 2026, the first open instant: closed just before it and nowhere open between', () => {
    const random = mulberry32(20260101);
    const zones = [
      BERLIN,
      NEW_YORK,
      hours('Europe/Berlin sun 02:30-05:00; wed 00:00-01:00'),
      hours('America/New_York sun 01:00-01:30; sat 23:00-24:00'),
      hours('Australia/Lord_Howe mon,thu 01:45-02:15; sun 02:00-03:00'),
    ];
    const start = utc(2026, 1, 1);
    const year = utc(2027, 1, 1) - start;
    for (let i = 0; i < 150; i++) {
      const h = zones[i % zones.length] as BusinessHours;
      const now = start + Math.floor(random() * year);
      const next = nextOpening(h, now);
      expect(next, `from ${iso(now)} in ${h.timeZone}`).not.toBeNull();
      const t = next as number;
      expect(t).toBeGreaterThanOrEqual(now);
      expect(isOpen(h, t)).toBe(true);
      if (t > now) {
        expect(isOpen(h, t - 1), `just before ${iso(t)}`).toBe(false);
        for (let probe = now; probe < t; probe += 10 * 60_000) {
          expect(isOpen(h, probe), `at ${iso(probe)}, before ${iso(t)}`).toBe(false);
        }
      }
    }
  });
});
