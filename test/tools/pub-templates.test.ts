// The --count templates on their own: each name's text for a fixed message number and time.

import t from 'tap';
import { compileTemplate, hasTemplates } from '../../src/tools/pub/templates.js';

t.test('each name, filled in for message 7 at a fixed time', async (t) => {
  const at = new Date(Date.UTC(2026, 11, 2, 13, 4, 5, 678));
  const fill = (text: string): string => compileTemplate(text)(7, at);
  t.equal(fill('n={{count}} {{Count}} {{ .Cnt }}'), 'n=7 7 7');
  t.equal(fill('{{time}}'), '2026-12-02T13:04:05.678Z', 'ISO 8601, UTC, milliseconds');
  t.equal(fill('{{TimeStamp}}'), '2026-12-02T13:04:05Z', 'RFC 3339 to the second');
  t.equal(fill('{{Unix}} {{UnixNano}}'), '1796216645 1796216645678000000');
  t.match(fill('{{random}}'), /^[A-Za-z0-9]{16}$/);
  t.match(fill('{{random 4}}'), /^[A-Za-z0-9]{4}$/);
  t.match(fill('{{Random 2 3}}'), /^[A-Za-z0-9]{2,3}$/);
  t.match(fill('{{ID}}'), /^[A-Za-z0-9]{22}$/);
  t.equal(fill('no braces'), 'no braces');
  t.equal(fill('{count}} {{count'), '{count}} {{count', 'only whole {{...}} are templates');
});

t.test("{{Time}} is Go's time.Kitchen in local time", async (t) => {
  const kitchen = (h: number, m: number): string => compileTemplate('{{Time}}')(1, new Date(2026, 0, 1, h, m));
  t.equal(kitchen(0, 5), '12:05AM');
  t.equal(kitchen(9, 30), '9:30AM');
  t.equal(kitchen(12, 0), '12:00PM');
  t.equal(kitchen(23, 59), '11:59PM');
});

t.test('unknown names and bad lengths are refused', async (t) => {
  for (const bad of ['{{bogus}}', '{{count 3}}', '{{random x}}', '{{random 5 2}}', '{{random 1 2 3}}', '{{}}']) {
    t.throws(() => compileTemplate(`a ${bad} b`), { name: 'TemplateError', code: 'E_TEMPLATE' }, bad);
  }
  t.ok(hasTemplates('x {{count}}'));
  t.notOk(hasTemplates('x {count}'));
});
