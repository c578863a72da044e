/** Timestamps come as ISO 8601 or as .NET `/Date(ms)/` (wire-spec 7.2); read both, write the captured form. */
const NET_DATE = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;

export function parseWireDate(value: string): Date | undefined {
  const net = NET_DATE.exec(value);
  if (net) return new Date(Number(net[1]));
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

export function netDate(ms: number): string {
  return `/Date(${Math.trunc(ms)})/`;
}
