/**
 * `npm run demo`: the real bot (discord.js, the real engine) against the test suite's fake
 * Discord and fake OpenClaw gateways. One person types /delegate, one agent @mentions the bot;
 * the progress and the resulting embed are printed as text. No Discord account, a few seconds.
 */
import type { APIEmbed } from 'discord.js';
import type { StoredMessage } from '../fakes/fake-discord/index.ts';
import { assertNoPings, startWorld } from '../support/bot-world.ts';

const teardown: (() => unknown)[] = [];
const dim = (text: string) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[0m` : text);
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const indent = (text: string, by = '    ') =>
  text
    .split('\n')
    .map((line) => by + line)
    .join('\n');

function embedAsText(embed: APIEmbed): string {
  const lines: string[] = [];
  if (embed.author?.name) lines.push(dim(embed.author.name));
  if (embed.title) lines.push(bold(embed.title));
  if (embed.description) lines.push(embed.description);
  for (const field of embed.fields ?? []) lines.push(`${field.name}: ${field.value.replace(/\n/g, ' ')}`);
  if (embed.footer?.text) lines.push(dim(embed.footer.text));
  return indent(lines.join('\n'), '    │ ');
}

/** Prints each new version of a message as the bot edits it. */
function follow(
  label: string,
  matches: (m: StoredMessage) => boolean,
  world: Awaited<ReturnType<typeof startWorld>>,
): () => void {
  let last = '';
  const show = (m: StoredMessage) => {
    if (!matches(m) || m.loading || m.content === last) return;
    last = m.content;
    const firstLine = m.content.split('\n')[0] ?? '';
    if (!firstLine.startsWith('```')) console.log(`  ${dim(label)} ${firstLine}`);
  };
  const offs = [world.fake.on('message_create', show), world.fake.on('message_update', show)];
  return () => offs.forEach((off) => off());
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(bold('hq-delegate demo') + ' — the real bot against a fake Discord and fake OpenClaw gateways\n');
  const world = await startWorld(
    { after: (fn) => void teardown.push(fn) },
    {
      channels: ['dl-webster', 'dl-tech-lead', 'dl-secretary'],
      script: { respond: 'admit', agent: { write: 'valid', afterMs: 700 } },
    },
  );
  const { fake, channels, users } = world;
  const bot = fake.botUser;
  console.log(`Server "HQ": #general, #dl-webster, #dl-tech-lead, #dl-secretary`);
  console.log(
    `alice has the role "leads" (→ principal manager); webster-bot is webster's own bot account (→ principal webster)`,
  );
  console.log(`Agents webster, tech-lead and secretary each run behind a fake gateway on 127.0.0.1.\n`);

  // 1. A person: /delegate
  console.log(bold('1. alice types  /delegate agent:webster task:"Summarise the open pull requests"'));
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'Summarise the open pull requests' },
  });
  const stopFollowing = follow('reply  ›', (m) => m.interactionId === handle.id, world);
  const ack = await handle.acknowledged();
  console.log(`  ${dim('reply  ›')} (deferred in ${Math.round(ack.elapsedMs)} ms — Discord allows 3000)`);
  const embedMessage = await fake.waitForMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, {
    timeoutMs: 15_000,
  });
  await handle.original((m) => m.content.includes(embedMessage.id), 15_000);
  stopFollowing();
  console.log(`\n  The embed the bot posted in #dl-webster:`);
  for (const embed of embedMessage.embeds) console.log(embedAsText(embed));

  // 2. An agent: @mention
  console.log(`\n${bold('2. webster-bot posts  "@hq-delegate secretary: Draft the release memo from the summary"')}`);
  const asked = fake.postMessage({
    channelId: channels.general!,
    authorId: users.websterBot,
    content: `<@${bot.id}> secretary: Draft the release memo from the summary`,
  });
  const isReply = (m: StoredMessage) => m.messageReference?.message_id === asked.id && m.authorId === bot.id;
  const stopReply = follow('reply  ›', isReply, world);
  const reactions = fake.on('reaction_add', (event) => {
    if (event.messageId === asked.id) console.log(`  ${dim('react  ›')} ${event.emoji}`);
  });
  const answer = await fake.waitForMessage(channels.general!, (m) => isReply(m) && m.content.includes('```json'), {
    timeoutMs: 15_000,
  });
  await fake
    .waitFor('reaction_add', (event) => event.messageId === asked.id && event.emoji !== '👀', { timeoutMs: 5_000 })
    .catch(() => undefined);
  stopReply();
  reactions();
  console.log(`\n  The reply the calling agent parses:`);
  console.log(indent(answer.content));

  assertNoPings(world);
  const sent = fake.botMessages().flatMap((m) => m.requestBodies);
  console.log(
    `\n${dim(`${sent.length} message bodies sent (creates and edits), each checked: allowed_mentions { parse: [] }, nobody was pinged.`)}`,
  );
  console.log(dim(`Done in ${((performance.now() - started) / 1_000).toFixed(1)} s.`));
}

try {
  await main();
} catch (error) {
  console.error('demo failed:', error);
  process.exitCode = 1;
} finally {
  for (const step of teardown.reverse()) await step();
}
