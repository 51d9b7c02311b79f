// The strftime subset nsq_to_file understands for <DATETIME> (local time, as Go's time.Now()):
// %Y %y %m %d %H %I %M %S %p %B %b %A %a %Z %z %%. Anything else is copied as written.

const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  // Go prints UTC as "UTC"; Intl may say "GMT" or "GMT+2" where there is no abbreviation
  const name = part?.value ?? numericZone(d);
  return name === 'GMT' ? 'UTC' : name;
}

function numericZone(d: Date): string {
  const off = -d.getTimezoneOffset();
  const abs = Math.abs(off);
  return `${off < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
}

function conversion(c: string, d: Date): string | undefined {
  switch (c) {
    case 'Y':
      return String(d.getFullYear()).padStart(4, '0');
    case 'y':
      return pad2(d.getFullYear() % 100);
    case 'm':
      return pad2(d.getMonth() + 1);
    case 'd':
      return pad2(d.getDate());
    case 'H':
      return pad2(d.getHours());
    case 'I':
      return pad2(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12);
    case 'M':
      return pad2(d.getMinutes());
    case 'S':
      return pad2(d.getSeconds());
    case 'p':
      return d.getHours() < 12 ? 'AM' : 'PM';
    case 'B':
      return LONG_MONTHS[d.getMonth()];
    case 'b':
      return LONG_MONTHS[d.getMonth()]!.slice(0, 3);
    case 'A':
      return LONG_DAYS[d.getDay()];
    case 'a':
      return LONG_DAYS[d.getDay()]!.slice(0, 3);
    case 'Z':
      return zoneName(d);
    case 'z':
      return numericZone(d);
    case '%':
      return '%';
    default:
      return undefined;
  }
}

export function strftime(format: string, d: Date): string {
  if (!format.includes('%')) return format;
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === '%' && i + 1 < format.length) {
      const v = conversion(format[i + 1]!, d);
      if (v !== undefined) {
        out += v;
        i++;
        continue;
      }
    }
    out += ch;
  }
  return out;
}
