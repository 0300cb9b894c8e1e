import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMentionTask } from '../src/discord/events/mention-grammar.ts';
import { mentionUsage } from '../src/discord/render/strings.ts';

const BOT = '123456789012345678';

test('a plain mention, agent, colon and task parses', () => {
  assert.deepEqual(parseMentionTask(`<@${BOT}> webster: summarise the open PRs`, BOT), {
    ok: true,
    agent: 'webster',
    task: 'summarise the open PRs',
    options: {},
  });
});

test('the legacy nickname mention form and surrounding whitespace are accepted', () => {
  const parsed = parseMentionTask(`  \n<@!${BOT}>\n  tech-lead :  review this  \n`, BOT);
  assert.deepEqual(parsed, { ok: true, agent: 'tech-lead', task: 'review this', options: {} });
});

test('a multi-line task is kept whole, colons and brackets included', () => {
  const parsed = parseMentionTask(`<@${BOT}> webster: step 1: read [the doc]\nstep 2: write\n\n- bullet`, BOT);
  assert.ok(parsed.ok);
  assert.equal(parsed.task, 'step 1: read [the doc]\nstep 2: write\n\n- bullet');
});

test('agent names are folded to lower case', () => {
  const parsed = parseMentionTask(`<@${BOT}> Webster: hi`, BOT);
  assert.ok(parsed.ok);
  assert.equal(parsed.agent, 'webster');
});

test('options in brackets after the agent name are parsed and typed', () => {
  assert.deepEqual(parseMentionTask(`<@${BOT}> webster [retries=2 timeout=120 strict=false context=10]: task`, BOT), {
    ok: true,
    agent: 'webster',
    task: 'task',
    options: { retries: 2, timeout: 120, strict: false, context: 10 },
  });
  const commas = parseMentionTask(`<@${BOT}> nx-expert[retries=3, timeout=5m,strict=TRUE]:go`, BOT);
  assert.deepEqual(commas, {
    ok: true,
    agent: 'nx-expert',
    task: 'go',
    options: { retries: 3, timeout: 300, strict: true },
  });
  const empty = parseMentionTask(`<@${BOT}> webster []: go`, BOT);
  assert.deepEqual(empty, { ok: true, agent: 'webster', task: 'go', options: {} });
});

function reason(content: string): string {
  const parsed = parseMentionTask(content, BOT);
  assert.equal(parsed.ok, false, `expected a refusal for ${JSON.stringify(content)}`);
  return parsed.ok ? '' : parsed.reason;
}

test('every refusal ends with the usage line', () => {
  const usage = mentionUsage(BOT);
  assert.match(usage, /^Usage: <@123456789012345678> <agent>: <task>/);
  for (const content of [
    '',
    'webster: hi',
    `<@${BOT}>`,
    `<@${BOT}> webster`,
    `<@${BOT}> webster:`,
    `<@${BOT}> webster [retries=9]: x`,
  ]) {
    assert.ok(reason(content).endsWith(usage), content);
  }
});

test('bad mentions and bad names are refused with a reason', () => {
  assert.match(reason(`hello <@${BOT}> webster: hi`), /starts with a mention of the bot/);
  assert.match(reason(`<@999999999999999999> webster: hi`), /starts with a mention of the bot/);
  assert.match(reason(`<@&${BOT}> webster: hi`), /starts with a mention of the bot/);
  assert.match(reason(`<@${BOT}123> webster: hi`), /starts with a mention of the bot/);
  assert.match(reason(`<@${BOT}> : hi`), /Name the agent/);
  assert.match(reason(`<@${BOT}> web.ster: hi`), /is not an agent name/);
  assert.match(reason(`<@${BOT}> ${'a'.repeat(33)}: hi`), /is not an agent name/);
  assert.match(reason(`<@${BOT}> webster please do this`), /Put a colon after "webster"/);
  assert.match(reason(`<@${BOT}> webster:   \n  `), /task for webster is empty/);
});

test('bad options are refused, each with what is allowed', () => {
  assert.match(reason(`<@${BOT}> webster [retries=2: x`), /not closed/);
  assert.match(reason(`<@${BOT}> webster [retries=0]: x`), /retries must be a whole number from 1 to 3/);
  assert.match(reason(`<@${BOT}> webster [retries=two]: x`), /retries must be/);
  assert.match(reason(`<@${BOT}> webster [timeout=0]: x`), /timeout must be seconds/);
  assert.match(reason(`<@${BOT}> webster [timeout=25h]: x`), /timeout must be seconds/);
  assert.match(reason(`<@${BOT}> webster [strict=maybe]: x`), /strict must be true or false/);
  assert.match(reason(`<@${BOT}> webster [context=31]: x`), /context must be a whole number from 0 to 30/);
  assert.match(reason(`<@${BOT}> webster [deliver=true]: x`), /Unknown option "deliver"/);
  assert.match(reason(`<@${BOT}> webster [retries]: x`), /not key=value/);
  assert.match(reason(`<@${BOT}> webster [retries=1 retries=2]: x`), /given twice/);
  assert.match(reason(`<@${BOT}> webster [retries=1] x`), /Put a colon/);
});

test('a bot user id that is not a snowflake cannot be used to build a pattern', () => {
  const parsed = parseMentionTask('<@.*> webster: hi', '.*');
  assert.equal(parsed.ok, false);
});
