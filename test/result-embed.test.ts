import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ButtonStyle, ComponentType } from 'discord.js';
import type { RunResult } from '../src/engine/types.ts';
import {
  MAX_CUSTOM_ID,
  MAX_EMBED_DESCRIPTION,
  MAX_EMBED_TITLE,
  MAX_EMBED_TOTAL,
  embedLimitViolations,
  embedsTextLength,
} from '../src/discord/render/limits.ts';
import { formatDuration, renderResultMessage, retryCustomId } from '../src/discord/render/result-embed.ts';

function result(overrides: Partial<RunResult> & Record<string, unknown> = {}): RunResult {
  return {
    schemaVersion: '1.1',
    status: 'complete',
    result: 'The answer is 42.',
    runId: 'orch-1767225600-a1b2c3d4',
    agent: 'webster',
    latencyMs: 12_345,
    attempts: 1,
    confidence: 'high',
    deliverable: { type: 'analysis', title: 'Open PR summary', path: null, summary: 'Three PRs need review.' },
    ...overrides,
  };
}

function fieldValue(
  embed: { fields?: { name: string; value: string }[] | undefined },
  name: string,
): string | undefined {
  return embed.fields?.find((f) => f.name === name)?.value;
}

function assertWithinLimits(rendered: ReturnType<typeof renderResultMessage>): void {
  assert.deepEqual(embedLimitViolations(rendered.embeds), []);
  assert.ok(embedsTextLength(rendered.embeds) <= MAX_EMBED_TOTAL);
  for (const row of rendered.components)
    for (const button of row.components) assert.ok(button.custom_id.length <= MAX_CUSTOM_ID);
}

test('a complete run renders green with its deliverable, result and facts', () => {
  const rendered = renderResultMessage(result(), { requesterId: '123456789012345678' });
  const [embed] = rendered.embeds;
  assert.ok(embed);
  assert.equal(embed.color, 0x2e_cc_71);
  assert.match(embed.title ?? '', /Open PR summary/);
  assert.match(embed.description ?? '', /Three PRs need review\./);
  assert.match(embed.description ?? '', /The answer is 42\./);
  assert.match(fieldValue(embed, 'Status') ?? '', /Complete/);
  assert.equal(fieldValue(embed, 'Confidence'), 'high');
  assert.equal(fieldValue(embed, 'Attempts'), '1');
  assert.equal(fieldValue(embed, 'Latency'), '12 s');
  assert.equal(fieldValue(embed, 'Requested by'), '<@123456789012345678>');
  assert.match(embed.author?.name ?? '', /webster/);
  assert.match(embed.footer?.text ?? '', /orch-1767225600-a1b2c3d4/);
  assert.deepEqual(rendered.files, []);
  assert.deepEqual(rendered.components, []);
  assertWithinLimits(rendered);
});

test('each status gets its colour and word', () => {
  const cases = [
    ['partial', 0xf1_c4_0f, 'Partial'],
    ['failed', 0xe7_4c_3c, 'Failed'],
    ['blocked', 0xe7_4c_3c, 'Blocked'],
    ['invalid', 0xe7_4c_3c, 'Invalid handoff'],
    ['malformed', 0xe7_4c_3c, 'Malformed handoff'],
    ['error', 0xe7_4c_3c, 'Error'],
    ['timeout', 0x95_a5_a6, 'Timed out'],
    ['cancelled', 0x95_a5_a6, 'Cancelled'],
  ] as const;
  for (const [status, color, word] of cases) {
    const [embed] = renderResultMessage(result({ status, deliverable: undefined })).embeds;
    assert.equal(embed?.color, color, status);
    assert.match(fieldValue(embed ?? {}, 'Status') ?? '', new RegExp(word), status);
  }
  const [unknown] = renderResultMessage(result({ status: 'weird' as RunResult['status'] })).embeds;
  assert.match(fieldValue(unknown ?? {}, 'Status') ?? '', /Unknown status/);
});

test('failed, timed-out, error, invalid and malformed runs get a Retry button; others do not', () => {
  for (const status of ['failed', 'timeout', 'error', 'invalid', 'malformed'] as const) {
    const { components } = renderResultMessage(result({ status }));
    const button = components[0]?.components[0];
    assert.equal(components[0]?.type, ComponentType.ActionRow);
    assert.equal(button?.type, ComponentType.Button);
    assert.equal(button?.style, ButtonStyle.Primary);
    assert.equal(button?.custom_id, 'retry:orch-1767225600-a1b2c3d4', status);
  }
  for (const status of ['complete', 'partial', 'blocked', 'cancelled', 'sent'] as const) {
    assert.deepEqual(renderResultMessage(result({ status })).components, [], status);
  }
});

test('a run id too long for a custom_id leaves the Retry button out instead of breaking the limit', () => {
  const runId = `r${'x'.repeat(127)}`;
  assert.equal(retryCustomId(runId), undefined);
  assert.deepEqual(renderResultMessage(result({ status: 'failed', runId })).components, []);
});

test('notes and the error code are shown for a failed run', () => {
  const [embed] = renderResultMessage(
    result({ status: 'timeout', notes: 'no handoff file after 300 s', code: 'HQ_ERR_HANDOFF_INVALID' }),
  ).embeds;
  assert.equal(fieldValue(embed ?? {}, 'What went wrong'), 'no handoff file after 300 s');
  assert.match(fieldValue(embed ?? {}, 'Error code') ?? '', /HQ_ERR_HANDOFF_INVALID/);
});

test('a 50 KB result goes whole into the attachment and the embed previews it within every limit', () => {
  const big = Array.from({ length: 1_000 }, (_, i) => `line ${i}: ${'é😀 data '.repeat(5)}`).join('\n');
  assert.ok(Buffer.byteLength(big) > 50_000);
  const rendered = renderResultMessage(result({ result: big }));
  assertWithinLimits(rendered);
  assert.equal(rendered.files.length, 1);
  const [file] = rendered.files;
  assert.equal(file?.name, 'result-orch-1767225600-a1b2c3d4.md');
  assert.ok(file?.attachment.equals(Buffer.from(big, 'utf8')), 'attachment must hold the result byte for byte');
  const description = rendered.embeds[0]?.description ?? '';
  assert.match(description, /result-orch-1767225600-a1b2c3d4\.md/);
  assert.match(description, /Preview only/);
  assert.ok(description.length <= MAX_EMBED_DESCRIPTION);
  assert.ok(description.isWellFormed());
});

test('a result larger than the upload limit is cut at a UTF-8 boundary and the preview says so', () => {
  const big = '😀'.repeat(10_000);
  const rendered = renderResultMessage(result({ result: big }), { attachmentMaxBytes: 1_001 });
  const file = rendered.files[0];
  assert.ok(file);
  assert.equal(file.attachment.length, 1_000);
  assert.equal(file.attachment.toString('utf8'), '😀'.repeat(250));
  assert.match(rendered.embeds[0]?.description ?? '', /cut to the first 1000 bytes/);
});

test('an object or array result is rendered as JSON and a fence inside it cannot close the block', () => {
  const object = { findings: ['a', 'b'], code: '```js\nalert(1)\n```', nested: { ok: true } };
  const rendered = renderResultMessage(result({ result: object }));
  const description = rendered.embeds[0]?.description ?? '';
  assert.match(description, /^\*\*Summary:\*\*/);
  assert.match(description, /```json\n/);
  assert.equal(description.match(/```/g)?.length, 2, 'only our own fence opens and closes');
  assert.deepEqual(renderResultMessage(result({ result: [1, 2, 3] })).files, []);
  assert.match(renderResultMessage(result({ result: [1, 2, 3] })).embeds[0]?.description ?? '', /\[\n {2}1,/);
});

test('a huge JSON result goes into the attachment as its full JSON text', () => {
  const object = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`field${i}`, 'v'.repeat(500)]));
  const rendered = renderResultMessage(result({ result: object }));
  assertWithinLimits(rendered);
  assert.equal(rendered.files[0]?.attachment.toString('utf8'), JSON.stringify(object, null, 2));
  const description = rendered.embeds[0]?.description ?? '';
  assert.equal(description.match(/```/g)?.length, 2, 'the preview fence is closed');
});

test('a truncated markdown preview closes the code fence it opened', () => {
  const text = `intro\n\`\`\`ts\n${'const x = 1;\n'.repeat(1_000)}\`\`\``;
  const description = renderResultMessage(result({ result: text })).embeds[0]?.description ?? '';
  assert.equal((description.match(/```/g)?.length ?? 0) % 2, 0);
});

test('hostile sizes everywhere still render within every limit', () => {
  const huge = '𝕏'.repeat(20_000);
  const rendered = renderResultMessage(
    result({
      status: 'failed',
      result: huge,
      notes: huge,
      code: huge,
      confidence: huge,
      agent: huge,
      workflowRunId: huge,
      stepId: huge,
      deliverable: { type: huge, title: `${'T'.repeat(300)}`, path: huge, summary: huge },
      timestamp: 'not a date',
    }),
    { requesterId: '123456789012345678', requesterLabel: huge },
  );
  assertWithinLimits(rendered);
  const [embed] = rendered.embeds;
  assert.ok((embed?.title ?? '').length <= MAX_EMBED_TITLE);
  assert.ok((embed?.title ?? '').endsWith('…'));
  assert.equal(embed?.timestamp, undefined);
  for (const text of [
    embed?.title,
    embed?.description,
    embed?.footer?.text,
    embed?.author?.name,
    ...(embed?.fields ?? []).map((f) => f.value),
  ]) {
    assert.ok((text ?? '').isWellFormed(), 'no split surrogate pair anywhere');
  }
});

test('a 300-character title is cut to the title limit', () => {
  const [embed] = renderResultMessage(
    result({ deliverable: { type: 'document', title: 'a'.repeat(300), summary: 's', path: null } }),
  ).embeds;
  assert.equal(embed?.title?.length, MAX_EMBED_TITLE);
});

test('only known fields are rendered: unknown keys never reach the embed', () => {
  const rendered = renderResultMessage(result({ hooksToken: 'SECRET-TOKEN-123', extra: { password: 'hunter2' } }));
  const text = JSON.stringify(rendered.embeds);
  assert.ok(!text.includes('SECRET-TOKEN-123'));
  assert.ok(!text.includes('hunter2'));
});

test('an empty or missing result says so instead of leaving the embed blank', () => {
  for (const value of ['', null, undefined]) {
    const description = renderResultMessage(result({ result: value, deliverable: undefined })).embeds[0]?.description;
    assert.equal(description, '*(no result)*');
  }
});

test('a requester without a Discord id is shown by label, and a bad id is not rendered as a mention', () => {
  assert.equal(
    fieldValue(renderResultMessage(result(), { requesterLabel: 'tech-lead (agent)' }).embeds[0] ?? {}, 'Requested by'),
    'tech-lead (agent)',
  );
  assert.equal(
    fieldValue(renderResultMessage(result(), { requesterId: '<@&1>' }).embeds[0] ?? {}, 'Requested by'),
    undefined,
  );
  assert.equal(
    fieldValue(
      renderResultMessage(result(), { requesterId: '123456789012345678', requesterLabel: 'alice' }).embeds[0] ?? {},
      'Requested by',
    ),
    '<@123456789012345678> (alice)',
  );
});

test('formatDuration reads like a person would say it', () => {
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(4_250), '4.2 s');
  assert.equal(formatDuration(12_900), '12 s');
  assert.equal(formatDuration(245_000), '4 min 05 s');
  assert.equal(formatDuration(3_720_000), '1 h 02 min');
  assert.equal(formatDuration(400, { wholeSeconds: true }), '0 s');
  assert.equal(formatDuration(Number.NaN), 'unknown');
});
