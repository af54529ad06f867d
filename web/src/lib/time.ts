// Whose clock a time was read from, and in which zone it is shown.
//
// Two clocks reach the UI. The engine's clock stamps everything the engine
// does (events, scans, orders, fills, positions, trades, the change
// history); in `vspread demo` it is the simulator's clock, which can run
// faster than real time and sit days away from today. It is shown as market
// time: New York, where the options trade, labelled "ET". The wall clock
// (this computer's) stamps what the server does outside the engine: config
// backups and reloads. It is shown in the browser's own zone, named.

export type ClockKind = 'engine' | 'wall';

/** How much of an instant is shown. */
export type TimeStyle = 'time' | 'minute' | 'datetime' | 'date' | 'full';

export const MARKET_ZONE = 'America/New_York';

/** What each clock is, for the tooltip of every time shown. */
export const CLOCK_NOTE: Record<ClockKind, string> = {
  engine: "Engine clock (the simulator's in the demo), shown as market time: New York (ET)",
  wall: "Wall clock (this computer's), shown in your browser's time zone",
};

const OPTIONS: Record<TimeStyle, Intl.DateTimeFormatOptions> = {
  time: { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
  minute: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  datetime: { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  date: { year: 'numeric', month: '2-digit', day: '2-digit' },
  full: { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
};

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(style: TimeStyle, timeZone: string | undefined, zoneName: boolean): Intl.DateTimeFormat {
  const key = `${style}|${timeZone ?? ''}|${zoneName}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { ...OPTIONS[style], timeZone, ...(zoneName ? { timeZoneName: 'short' } : {}) });
    formatters.set(key, f);
  }
  return f;
}

/** The parts of `d` in `style`, assembled as "MM-DD HH:MM:SS" (ISO-like, not the US order). */
function assemble(d: Date, style: TimeStyle, timeZone: string | undefined): string {
  const parts = Object.fromEntries(formatter(style, timeZone, false).formatToParts(d).map((p) => [p.type, p.value]));
  const date = style === 'date' || style === 'full' ? `${parts.year}-${parts.month}-${parts.day}` : style === 'datetime' ? `${parts.month}-${parts.day}` : '';
  const time = style === 'date' ? '' : style === 'time' || style === 'full' ? `${parts.hour}:${parts.minute}:${parts.second}` : `${parts.hour}:${parts.minute}`;
  return [date, time].filter((s) => s !== '').join(' ');
}

/** The short name of the browser's zone at `d` ("CET", "GMT+2", "UTC"). */
export function wallZoneName(d: Date, timeZone?: string): string {
  const part = formatter('minute', timeZone, true)
    .formatToParts(d)
    .find((p) => p.type === 'timeZoneName');
  return part?.value ?? '';
}

export interface ShownTime {
  /** The instant in the clock's zone, such as "11-23 10:04". */
  text: string;
  /** The zone's label: "ET" for market time, the browser zone's short name for wall time. */
  zone: string;
  /** Whose clock and which zone, in words (for a tooltip). */
  note: string;
  /** The instant as ISO 8601 (for `<time datetime>`), or null when `iso` was not a time. */
  iso: string | null;
}

/**
 * An instant read from `clock`, shown in that clock's zone. `wallZone`
 * overrides the browser's zone for wall times (tests use it). Text that is
 * not a time is given back as it is, with no zone.
 */
export function showTime(iso: string | null | undefined, clock: ClockKind, style: TimeStyle = 'datetime', wallZone?: string): ShownTime {
  const note = CLOCK_NOTE[clock];
  if (!iso) return { text: '', zone: '', note, iso: null };
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return { text: iso, zone: '', note, iso: null };
  if (clock === 'engine') return { text: assemble(d, style, MARKET_ZONE), zone: 'ET', note, iso: d.toISOString() };
  return { text: assemble(d, style, wallZone), zone: wallZoneName(d, wallZone), note, iso: d.toISOString() };
}

/** One line: "11-23 10:04 ET". */
export function timeText(iso: string | null | undefined, clock: ClockKind, style: TimeStyle = 'datetime', wallZone?: string): string {
  const t = showTime(iso, clock, style, wallZone);
  return t.zone ? `${t.text} ${t.zone}` : t.text;
}

/** The market (New York) time of an instant in ms, for chart axes: "11-23 10:04". */
export function marketText(ms: number, style: TimeStyle = 'datetime'): string {
  return Number.isFinite(ms) ? assemble(new Date(ms), style, MARKET_ZONE) : '';
}

/** How long ago `iso` was, measured on the same clock's `now`: "45 s", "12 min", "3.2 h", "2 d". */
export function age(iso: string | null | undefined, now: number | null): string {
  if (!iso || now === null) return '';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, (now - t) / 1000);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400 * 2) return `${(s / 3600).toFixed(1)} h`;
  return `${Math.round(s / 86_400)} d`;
}
