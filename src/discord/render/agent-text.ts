/**
 * Text an agent wrote, made safe to show as Discord markdown: a masked link shows its real
 * target, and mention syntax renders as plain text. NO_PINGS already stops the ping; this stops
 * `@everyone` or a role name from being shown as if the bot had said it, and a link from lying.
 */

const ZWSP = '\u200b';

/** `[label](target)`, with an optional `<…>` around the target and an optional "title" after it. */
const MASKED_LINK = /\[([^\]\n]*)\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"\n]*")?\s*\)/g;

/** `@everyone`, `@here`, `<@id>`, `<@!id>`, `<@&id>`, `<#id>` and `</command:id>` as inert text. */
export function neutraliseMentions(text: string): string {
  return text.replace(/@(everyone|here)/gi, `@${ZWSP}$1`).replace(/<(@[!&]?|#|\/)/g, `<${ZWSP}$1`);
}

/** `[totally safe](https://evil.example)` becomes `totally safe (https://evil.example)`. */
export function unmaskLinks(text: string): string {
  // Repeated: a label may itself hide a second masked link once the outer one is opened.
  let previous: string;
  let current = text;
  do {
    previous = current;
    current = previous.replace(MASKED_LINK, (_whole, label: string, target: string) =>
      label.trim().length === 0 || label.trim() === target ? target : `${label} (${target})`,
    );
  } while (current !== previous);
  return current;
}

/** Both, for anything an agent wrote that is shown as markdown (embed text, reply content). */
export function defangAgentText(text: string): string {
  return neutraliseMentions(unmaskLinks(text));
}
