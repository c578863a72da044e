/**
 * Business hours: a small text format, and whether the service is open at an instant, in an IANA time zone,
 * through Intl.DateTimeFormat (no dependencies, no clock reads: `now` is a parameter).
 *
 *   always
 *   Europe/Berlin mon-fri 09:00-17:30; sat 10:00-14:00; holidays 2026-12-25,2026-12-26
 *   America/New_York mon-thu 08:00-12:00,13:00-18:00; fri 08:00-16:00
 *
 * Times are local wall-clock times of the zone, so opening hours follow daylight saving time. A range
 * covers [start, end): 09:00-17:30 is open at 17:29:59 and closed at 17:30. 24:00 ends a day; a range
 * cannot cross midnight (split it: `fri 22:00-24:00; sat 00:00-02:00`). Holidays are whole local days.
 */
import { checkTime, RoutingError, show } from './errors.ts';

export type Day = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
/** Monday first, as people write opening hours. */
export const DAYS: readonly Day[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export interface BusinessHours {
  /** IANA, e.g. Europe/Berlin. */
  timeZone: string;
  /** Open ranges per day as ["HH:MM", "HH:MM"], sorted and merged; a closed day has []. */
  days: Record<Day, Array<[string, string]>>;
  /** YYYY-MM-DD local dates on which the service is closed all day, sorted. */
  holidays?: string[];
}

const EXAMPLE = 'e.g. "Europe/Berlin mon-fri 09:00-17:30; sat 10:00-14:00; holidays 2026-12-25" or "always"';
const MINUTE = 60_000;
const DAY_MS = 86_400_000;

/**
 * Parses the business-hours text (see the module comment). Returns 'always' for "always"; throws a
 * RoutingError naming the part that is wrong for anything it cannot read.
 */
export function parseBusinessHours(spec: string): BusinessHours | 'always' {
  if (typeof spec !== 'string')
    throw new RoutingError(`business hours must be a string, ${EXAMPLE}; got ${show(spec)}`);
  const text = spec.trim();
  if (text === '') throw new RoutingError(`business hours are empty; write them as ${EXAMPLE}`);
  if (text.toLowerCase() === 'always') return 'always';
  const fail = (what: string): never => {
    throw new RoutingError(`business hours ${show(text)}: ${what}`);
  };

  const segments = text.split(';').map((s) => s.trim());
  const first = segments[0] ?? '';
  const zone = first.split(/\s+/)[0] ?? '';
  if (zone === '' || /^(holidays|mon|tue|wed|thu|fri|sat|sun)\b/i.test(zone) || /^\d/.test(zone)) {
    fail(`they must start with an IANA time zone such as Europe/Berlin or UTC, got ${show(zone)}`);
  }
  const timeZone = checkTimeZone(zone, fail);
  segments[0] = first.slice(zone.length).trim();

  const minutes: Record<Day, Array<[number, number]>> = {
    mon: [],
    tue: [],
    wed: [],
    thu: [],
    fri: [],
    sat: [],
    sun: [],
  };
  const holidays: string[] = [];
  let closedNamed = false;
  for (const segment of segments) {
    if (segment === '') continue;
    const [head = '', ...rest] = segment.split(/\s+/);
    const body = rest.join('');
    if (head.toLowerCase() === 'holidays') {
      if (body === '') fail(`"holidays" needs dates, e.g. holidays 2026-12-25,2026-12-26`);
      for (const date of body.split(',')) {
        if (date === '') fail(`empty date in ${show(segment)}`);
        holidays.push(checkDate(date, fail));
      }
      continue;
    }
    const days = parseDays(head, fail);
    if (body === '')
      fail(`${show(segment)} names days but no times; add a range such as 09:00-17:30, or "closed"`);
    if (body.toLowerCase() === 'closed') {
      closedNamed = true;
      continue;
    }
    for (const range of body.split(',')) {
      const parsed = parseRange(range, `in ${show(segment)}`, fail);
      for (const day of days) minutes[day].push(parsed);
    }
  }
  const result: BusinessHours = { timeZone, days: toDays(minutes) };
  if (DAYS.every((d) => result.days[d].length === 0)) {
    fail(
      `no opening times${closedNamed ? ' (every day named is closed)' : ''}; add e.g. "mon-fri 09:00-17:30"`,
    );
  }
  if (holidays.length > 0) result.holidays = [...new Set(holidays)].sort();
  return result;
}

/** The text form of parsed hours (parseBusinessHours reads it back to the same value). */
export function formatBusinessHours(hours: BusinessHours | 'always'): string {
  if (hours === 'always') return 'always';
  const c = compile(hours);
  const groups: string[] = [];
  let i = 0;
  while (i < DAYS.length) {
    const text = rangesText(c.days[i] ?? []);
    let j = i;
    while (j + 1 < DAYS.length && rangesText(c.days[j + 1] ?? []) === text) j++;
    if (text !== '') groups.push(`${DAYS[i]}${j > i ? `-${DAYS[j]}` : ''} ${text}`);
    i = j + 1;
  }
  if (c.holidays.size > 0) groups.push(`holidays ${[...c.holidays].sort().join(',')}`);
  return `${hours.timeZone} ${groups.join('; ')}`;
}

/** Whether the service is open at `now` (epoch ms). */
export function isOpen(hours: BusinessHours | 'always', now: number): boolean {
  checkTime(now);
  return hours === 'always' ? true : openAt(compile(hours), now);
}

/**
 * The first instant at or after `now` at which the service is open: `now` itself when it is open (and for
 * 'always'). Follows daylight saving time: an opening time that a spring-forward skips opens when the
 * clocks jump. Null only when no opening exists in the weeks the holiday list can cover.
 */
export function nextOpening(hours: BusinessHours | 'always', now: number): number | null {
  checkTime(now);
  if (hours === 'always') return now;
  const c = compile(hours);
  if (openAt(c, now)) return now;
  const today = localDate(c, now);
  const lastDay = today + (c.holidays.size + 2) * 7 * DAY_MS;
  let best: number | null = null;
  for (let day = today - DAY_MS; day <= lastDay; day += DAY_MS) {
    if (best !== null && best <= day - 15 * 60 * MINUTE) break; // no later local day can open earlier
    const date = new Date(day);
    const candidates = transitionsIn(c, day, day + DAY_MS);
    if (!c.holidays.has(isoDate(day))) {
      for (const [start] of c.days[(date.getUTCDay() + 6) % 7] ?? []) {
        candidates.push(...instantsOfWallTime(c, day + start * MINUTE));
      }
    }
    for (const t of candidates) {
      if (t > now && (best === null || t < best) && openAt(c, t)) best = t;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------

interface Compiled {
  fmt: Intl.DateTimeFormat;
  /** Index 0 = Monday; minute ranges [start, end). */
  days: Array<Array<[number, number]>>;
  holidays: Set<string>;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, fmt);
  }
  return fmt;
}

function checkTimeZone(zone: unknown, fail: (what: string) => never): string {
  if (typeof zone !== 'string' || zone.trim() === '') return fail(`the time zone must be a non-empty string`);
  try {
    formatterFor(zone);
  } catch {
    return fail(
      `unknown time zone ${show(zone)}; use an IANA name such as Europe/Berlin or America/New_York`,
    );
  }
  return zone;
}

/** Validates hand-built hours as thoroughly as parsed ones, and turns them into minutes. */
function compile(hours: BusinessHours): Compiled {
  const fail = (what: string): never => {
    throw new RoutingError(`business hours: ${what}`);
  };
  if (!hours || typeof hours !== 'object')
    fail(`expected parsed business hours or 'always', got ${show(hours)}`);
  const fmt = formatterFor(checkTimeZone(hours.timeZone, fail));
  if (!hours.days || typeof hours.days !== 'object') fail(`days must be an object keyed mon..sun`);
  const days = DAYS.map((day) => {
    const ranges: unknown = hours.days[day] ?? [];
    if (!Array.isArray(ranges))
      return fail(`${day} must be an array of ["HH:MM", "HH:MM"], got ${show(ranges)}`);
    return merge(
      ranges.map((r: unknown) =>
        Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && typeof r[1] === 'string'
          ? parseRange(`${r[0]}-${r[1]}`, `on ${day}`, fail)
          : fail(`each range on ${day} must be ["HH:MM", "HH:MM"], got ${show(r)}`),
      ),
    );
  });
  const holidays = hours.holidays ?? [];
  if (!Array.isArray(holidays)) fail(`holidays must be an array of YYYY-MM-DD dates, got ${show(holidays)}`);
  return { fmt, days, holidays: new Set(holidays.map((d: unknown) => checkDate(d, fail))) };
}

function parseDays(text: string, fail: (what: string) => never): Day[] {
  const out: Day[] = [];
  const dayOf = (name: string): number => {
    const i = DAYS.indexOf(name.toLowerCase() as Day);
    if (i === -1)
      fail(
        `unknown day ${show(name)}${name === text ? '' : ` in ${show(text)}`}; days are ${DAYS.join(' ')}, as in mon-fri or sat,sun`,
      );
    return i;
  };
  for (const item of text.split(',')) {
    const [from = '', to, extra] = item.split('-');
    if (extra !== undefined) fail(`${show(item)} is not a day or a day range like mon-fri`);
    const a = dayOf(from);
    const b = to === undefined ? a : dayOf(to);
    for (let i = a; ; i = (i + 1) % 7) {
      const day = DAYS[i] as Day;
      if (!out.includes(day)) out.push(day);
      if (i === b) break;
    }
  }
  return out;
}

function parseRange(text: string, where: string, fail: (what: string) => never): [number, number] {
  const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m) return fail(`${show(text)} ${where} is not a time range like 09:00-17:30`);
  const start = clock(m[1], m[2], text, fail);
  const end = clock(m[3], m[4], text, fail);
  if (start === 24 * 60) fail(`${show(text)} ${where} starts at 24:00; a day starts at 00:00`);
  if (end <= start) {
    fail(
      `${show(text)} ${where} does not end after it starts; a range cannot cross midnight, split it: 22:00-24:00 and 00:00-02:00`,
    );
  }
  return [start, end];
}

function clock(
  h: string | undefined,
  m: string | undefined,
  text: string,
  fail: (what: string) => never,
): number {
  const hours = Number(h);
  const minutes = Number(m);
  if (hours > 24 || minutes > 59 || (hours === 24 && minutes !== 0)) {
    fail(`${show(text)} has a time that does not exist; use 00:00 to 24:00`);
  }
  return hours * 60 + minutes;
}

function checkDate(value: unknown, fail: (what: string) => never): string {
  const m = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
  if (!m) return fail(`holiday ${show(value)} is not a YYYY-MM-DD date`);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (isoDate(t) !== value) fail(`holiday ${show(value)} is not a calendar date`);
  return value as string;
}

function merge(ranges: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [s, e] of [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

function toDays(minutes: Record<Day, Array<[number, number]>>): Record<Day, Array<[string, string]>> {
  const out = {} as Record<Day, Array<[string, string]>>;
  for (const day of DAYS) out[day] = merge(minutes[day]).map(([s, e]) => [hhmm(s), hhmm(e)]);
  return out;
}

function rangesText(ranges: Array<[number, number]>): string {
  return ranges.map(([s, e]) => `${hhmm(s)}-${hhmm(e)}`).join(',');
}

function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function isoDate(utcMidnight: number): string {
  return new Date(utcMidnight).toISOString().slice(0, 10);
}

interface Wall {
  /** The local date as a UTC-midnight epoch value (calendar arithmetic without a zone). */
  date: number;
  /** Milliseconds since local midnight. */
  ms: number;
}

function wall(c: Compiled, t: number): Wall {
  const parts: Record<string, number> = {};
  for (const p of c.fmt.formatToParts(t)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const date = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day ?? 1);
  const seconds = ((parts.hour ?? 0) % 24) * 3600 + (parts.minute ?? 0) * 60 + (parts.second ?? 0);
  return { date, ms: seconds * 1000 + (t - Math.floor(t / 1000) * 1000) };
}

/** Local time minus UTC at `t`, in ms. */
function offsetAt(c: Compiled, t: number): number {
  const w = wall(c, t);
  return w.date + w.ms - t;
}

function localDate(c: Compiled, t: number): number {
  return wall(c, t).date;
}

function openAt(c: Compiled, t: number): boolean {
  const w = wall(c, t);
  if (c.holidays.has(isoDate(w.date))) return false;
  const ranges = c.days[(new Date(w.date).getUTCDay() + 6) % 7] ?? [];
  return ranges.some(([s, e]) => w.ms >= s * MINUTE && w.ms < e * MINUTE);
}

/** Every instant whose local wall time is `naive` (wall time written as if UTC): none in a gap, two in an overlap. */
function instantsOfWallTime(c: Compiled, naive: number): number[] {
  const offsets = new Set([offsetAt(c, naive - DAY_MS), offsetAt(c, naive), offsetAt(c, naive + DAY_MS)]);
  const out: number[] = [];
  for (const o of offsets) {
    const t = naive - o;
    if (offsetAt(c, t) === o && !out.includes(t)) out.push(t);
  }
  return out;
}

/** The instants in [from, to) at which the zone's offset changes (daylight saving transitions). */
function transitionsIn(c: Compiled, from: number, to: number): number[] {
  const before = offsetAt(c, from);
  const after = offsetAt(c, to - 1);
  if (before === after) return [];
  let lo = from;
  let hi = to - 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(c, mid) === before) lo = mid;
    else hi = mid;
  }
  return [hi];
}
