import { InvalidArgumentError, type ChatMessage } from '@decodekit/core';
import type { BaseMessage } from '@langchain/core/messages';

/** Content blocks an assistant message may carry that are not text the model should re-read. */
const ASSISTANT_SIDE_BLOCKS = new Set([
  'tool_use',
  'tool_call',
  'tool_call_chunk',
  'server_tool_call',
  'server_tool_call_result',
  'reasoning',
  'thinking',
  'redacted_thinking',
]);

/**
 * Turns LangChain messages into decodekit chat messages (`{ role, content }`) for the tokenizer's chat
 * template. Roles: system / developer → `system`, human → `user`, ai → `assistant`, tool → `tool`,
 * function → `function`, a generic `ChatMessage` keeps its role. Content: strings as they are; content
 * blocks of type `text` joined with no separator; an assistant's tool-call and reasoning blocks are dropped
 * (only its text is part of the conversation). Tool messages are kept as plain `tool` turns: decodekit
 * models do not call tools, but a history that contains tool results still renders.
 *
 * @throws InvalidArgumentError for image, audio, file or other non-text content: decodekit models read
 *   text only.
 */
export function toChatMessages(messages: readonly BaseMessage[]): ChatMessage[] {
  return messages.map((message, index) => ({
    role: roleOf(message),
    content: textOf(message, index),
  }));
}

function roleOf(message: BaseMessage): string {
  switch (message.type) {
    case 'human':
      return 'user';
    case 'ai':
      return 'assistant';
    case 'system':
    case 'developer':
      return 'system';
    case 'tool':
      return 'tool';
    case 'function':
      return 'function';
    case 'generic': {
      const role = (message as { role?: unknown }).role;
      return typeof role === 'string' && role.length > 0 ? role : 'user';
    }
    default:
      return message.type;
  }
}

function textOf(message: BaseMessage, index: number): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  let text = '';
  for (const block of content as readonly Record<string, unknown>[]) {
    const type = typeof block === 'string' ? 'text' : String(block.type);
    if (typeof block === 'string') text += block;
    else if (type === 'text' && typeof block.text === 'string') text += block.text;
    else if (message.type === 'ai' && ASSISTANT_SIDE_BLOCKS.has(type)) continue;
    else {
      throw new InvalidArgumentError({
        argument: `messages[${index}]`,
        message:
          `has a "${type}" content block; decodekit models read text only. ` +
          'Pass text content (a string or { type: "text", text } blocks).',
      });
    }
  }
  return text;
}
