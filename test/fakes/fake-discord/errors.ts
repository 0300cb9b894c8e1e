/** Discord REST error bodies, including the nested `errors` tree of 50035 "Invalid Form Body". */

export interface DiscordErrorBody {
  code: number;
  message: string;
  errors?: ErrorTree;
  retry_after?: number;
  global?: boolean;
}

export interface FieldError {
  code: string;
  message: string;
}

export interface ErrorTree {
  _errors?: FieldError[];
  [key: string]: ErrorTree | FieldError[] | undefined;
}

export class DiscordHttpError extends Error {
  readonly status: number;
  readonly body: DiscordErrorBody;

  constructor(status: number, body: DiscordErrorBody) {
    super(`${status} ${body.code}: ${body.message}`);
    this.status = status;
    this.body = body;
  }
}

/** Accumulates field errors at paths like ['embeds', 0, 'title'] into Discord's nested shape. */
export class FormErrors {
  readonly tree: ErrorTree = {};
  #count = 0;

  add(path: readonly (string | number)[], code: string, message: string): void {
    let node = this.tree;
    for (const segment of path) {
      const key = String(segment);
      let child = node[key];
      if (child === undefined || Array.isArray(child)) {
        child = {};
        node[key] = child;
      }
      node = child;
    }
    (node._errors ??= []).push({ code, message });
    this.#count++;
  }

  get empty(): boolean {
    return this.#count === 0;
  }

  throwIfAny(): void {
    if (!this.empty) throw invalidFormBody(this.tree);
  }
}

export function invalidFormBody(errors: ErrorTree): DiscordHttpError {
  return new DiscordHttpError(400, { code: 50035, message: 'Invalid Form Body', errors });
}

export function maxLength(max: number): [string, string] {
  return ['BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`];
}

export function badLength(min: number, max: number): [string, string] {
  return ['BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${max} in length.`];
}

export const REQUIRED: [string, string] = ['BASE_TYPE_REQUIRED', 'This field is required'];

const make = (status: number, code: number, message: string) => (): DiscordHttpError =>
  new DiscordHttpError(status, { code, message });

export const Errors = {
  unauthorized: make(401, 0, '401: Unauthorized'),
  notFound: make(404, 0, '404: Not Found'),
  methodNotAllowed: make(405, 0, '405: Method Not Allowed'),
  unknownApplication: make(404, 10002, 'Unknown Application'),
  unknownChannel: make(404, 10003, 'Unknown Channel'),
  unknownGuild: make(404, 10004, 'Unknown Guild'),
  unknownMember: make(404, 10007, 'Unknown Member'),
  unknownMessage: make(404, 10008, 'Unknown Message'),
  unknownRole: make(404, 10011, 'Unknown Role'),
  unknownUser: make(404, 10013, 'Unknown User'),
  unknownEmoji: make(400, 10014, 'Unknown Emoji'),
  unknownWebhook: make(404, 10015, 'Unknown Webhook'),
  unknownInteraction: make(404, 10062, 'Unknown interaction'),
  unknownCommand: make(404, 10063, 'Unknown application command'),
  entityTooLarge: make(413, 40005, 'Request entity too large'),
  alreadyAcknowledged: make(400, 40060, 'Interaction has already been acknowledged.'),
  missingAccess: make(403, 50001, 'Missing Access'),
  cannotEditOthers: make(403, 50005, 'Cannot edit a message authored by another user'),
  emptyMessage: make(400, 50006, 'Cannot send an empty message'),
  nonTextChannel: make(400, 50008, 'Cannot send messages in a non-text channel'),
  missingPermissions: make(403, 50013, 'Missing Permissions'),
  invalidWebhookToken: make(401, 50027, 'Invalid Webhook Token'),
  invalidJson: make(400, 50109, 'The request body contains invalid JSON.'),
};
