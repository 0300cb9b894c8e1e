import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ELLIPSIS,
  MAX_EMBED_TOTAL,
  embedLimitViolations,
  embedTextLength,
  embedsTextLength,
  truncate,
} from '../src/discord/render/limits.ts';
import { NO_PINGS, NO_PINGS_API } from '../src/discord/render/no-pings.ts';

function hasLoneSurrogate(text: string): boolean {
  return !text.isWellFormed();
}

test('truncate leaves text that fits untouched', () => {
  assert.equal(truncate('hello', 5), 'hello');
  assert.equal(truncate('', 10), '');
});

test('truncate ends cut text with an ellipsis within the limit', () => {
  const out = truncate('abcdefghij', 5);
  assert.equal(out, `abcd${ELLIPSIS}`);
  assert.ok(out.length <= 5);
});

test('truncate answers an empty string for a limit of zero or less', () => {
  assert.equal(truncate('abc', 0), '');
  assert.equal(truncate('abc', -3), '');
  assert.equal(truncate('abc', Number.NaN), '');
});

test('truncate never splits a surrogate pair at any cut point', () => {
  const text = 'a😀b😀😀c𝒳𝒴𝒵'.repeat(5);
  for (let max = 1; max <= text.length + 1; max += 1) {
    const out = truncate(text, max);
    assert.ok(out.length <= max, `length ${out.length} > ${max}`);
    assert.ok(!hasLoneSurrogate(out), `lone surrogate at max ${max}: ${JSON.stringify(out)}`);
  }
});

test('truncate keeps flags and family emoji whole when it can', () => {
  const family = '👨‍👩‍👧‍👦';
  const flags = '🇫🇷🇩🇪🇯🇵';
  for (const text of [`${'x'.repeat(10)}${family}${family}`, `${'y'.repeat(9)}${flags}${flags}`]) {
    for (let max = 11; max < text.length; max += 1) {
      const out = truncate(text, max).slice(0, -1);
      const kept = out.replace(/^[xy]+/, '');
      assert.ok(
        [...new Intl.Segmenter().segment(kept)].every(
          ({ segment }) => segment === family || segment === '🇫🇷' || segment === '🇩🇪' || segment === '🇯🇵',
        ),
        `split cluster in ${JSON.stringify(out)}`,
      );
    }
  }
});

test('truncate falls back to code points when one grapheme is longer than the limit', () => {
  const zalgo = `a${'\u0301'.repeat(500)}`;
  const out = truncate(zalgo, 100);
  assert.ok(out.length <= 100 && out.length > 50);
});

test('truncate replaces lone surrogates so the text is valid UTF-8', () => {
  assert.equal(truncate('a\ud800b', 10), 'a\ufffdb');
});

test('embedTextLength counts title, description, fields, footer and author, trimmed', () => {
  const length = embedTextLength({
    title: '  abc  ',
    description: 'de',
    fields: [{ name: 'f ', value: ' gh' }],
    footer: { text: 'i' },
    author: { name: 'jk' },
  });
  assert.equal(length, 3 + 2 + 1 + 2 + 1 + 2);
  assert.equal(embedsTextLength([{ title: 'a' }, { description: 'bc' }]), 3);
});

test('embedLimitViolations names every broken limit and nothing for a valid embed', () => {
  assert.deepEqual(embedLimitViolations([{ title: 'ok', fields: [{ name: 'a', value: 'b' }] }]), []);
  const problems = embedLimitViolations([
    {
      title: 'x'.repeat(300),
      description: 'y'.repeat(5_000),
      fields: Array.from({ length: 26 }, () => ({ name: 'n', value: ' ' })),
    },
  ]);
  assert.ok(problems.some((p) => p.includes('title')));
  assert.ok(problems.some((p) => p.includes('description')));
  assert.ok(problems.some((p) => p.includes('26 fields')));
  assert.ok(problems.some((p) => p.includes('empty')));
  assert.ok(
    embedLimitViolations([{ description: 'z'.repeat(4_000) }, { description: 'z'.repeat(2_001) }]).some((p) =>
      p.includes(`> ${MAX_EMBED_TOTAL}`),
    ),
  );
});

test('NO_PINGS suppresses every mention type and replied-user pings, and cannot be changed', () => {
  assert.deepEqual(NO_PINGS, { parse: [], repliedUser: false });
  assert.deepEqual(NO_PINGS_API, { parse: [], replied_user: false });
  assert.ok(Object.isFrozen(NO_PINGS) && Object.isFrozen(NO_PINGS.parse));
  assert.throws(() => (NO_PINGS.parse as unknown as string[]).push('everyone'));
});
