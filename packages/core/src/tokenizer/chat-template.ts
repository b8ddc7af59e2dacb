import { Template } from '@huggingface/jinja';
import { InvalidArgumentError, ModelFormatError } from '../errors.js';
import type { ChatMessage } from '../types.js';

/**
 * decodekit's plain chat template, used when tokenizer_config.json has no `chat_template` (base models
 * such as the llama2.c stories models). Each message is one line `"<Role>: <content>\n"` with the role
 * capitalised (`System`, `User`, `Assistant`, or any other role as given), and the generation prompt is
 * `"Assistant:"` with no trailing space, because SentencePiece tokenizers attach the space to the next
 * word (`▁word`) and a dangling `▁` token hurts the model:
 *
 * ```text
 * System: You are terse.
 * User: Hi!
 * Assistant:
 * ```
 *
 * No BOS is written into the text; `encode` adds it.
 */
export function renderPlainChat(
  messages: readonly ChatMessage[],
  addGenerationPrompt: boolean,
): string {
  let text = '';
  for (const message of messages) text += `${capitalize(message.role)}: ${message.content}\n`;
  return addGenerationPrompt ? `${text}Assistant:` : text;
}

function capitalize(role: string): string {
  return role.length === 0 ? role : role[0].toUpperCase() + role.slice(1);
}

/**
 * The chat template of tokenizer_config.json: a string, or a list of named templates (the one named
 * "default" is used, else the first).
 */
export function chatTemplateSource(
  tokenizerConfig: Readonly<Record<string, unknown>> | undefined,
): string | undefined {
  const template = tokenizerConfig?.chat_template;
  if (typeof template === 'string') return template;
  if (Array.isArray(template)) {
    const named = template.filter(
      (entry): entry is { name: string; template: string } =>
        typeof entry === 'object' &&
        entry !== null &&
        typeof (entry as { template?: unknown }).template === 'string',
    );
    return (named.find(entry => entry.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}

/** Compiles a Jinja chat template once; renders it with the variables transformers passes. */
export function compileChatTemplate(
  source: string,
  specialTokens: Readonly<Record<string, string>>,
): (messages: readonly ChatMessage[], addGenerationPrompt: boolean) => string {
  let template: Template;
  try {
    template = new Template(source);
  } catch (cause) {
    throw new ModelFormatError({
      path: 'tokenizer_config.json',
      message: `chat_template does not parse: ${(cause as Error).message}`,
      cause,
    });
  }
  return (messages, addGenerationPrompt) => {
    try {
      return template.render({
        ...specialTokens,
        messages: messages.map(message => ({ ...message })),
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (cause) {
      // Templates reject conversations they cannot format (e.g. roles that do not alternate).
      throw new InvalidArgumentError({
        argument: 'messages',
        message: `the model's chat template rejected them: ${(cause as Error).message}`,
      });
    }
  };
}
