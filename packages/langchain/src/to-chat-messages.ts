import { InvalidArgumentError, type ChatMessage } from '@decodekit/core';
import { formatToolCalls, type ToolCallFormat } from '@decodekit/strategy-constrained';
import type { AIMessage, BaseMessage } from '@langchain/core/messages';

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
 * blocks of type `text` joined with no separator; an assistant's reasoning and tool-call content blocks are
 * dropped, and its `tool_calls` are written after its text in the format `ChatDecodekit` constrains calls
 * to (`formatToolCalls`, default `<tool_call>\n{"name":...,"arguments":{...}}\n</tool_call>`), so the
 * model sees its earlier calls as it made them. Tool results are `tool` turns.
 *
 * @throws InvalidArgumentError for image, audio, file or other non-text content: decodekit models read
 *   text only.
 */
export function toChatMessages(
  messages: readonly BaseMessage[],
  options: { toolCallFormat?: Partial<ToolCallFormat> } = {},
): ChatMessage[] {
  return messages.map((message, index) => {
    const text = textOf(message, index);
    const calls = message.type === 'ai' ? ((message as AIMessage).tool_calls ?? []) : [];
    if (calls.length === 0) return { role: roleOf(message), content: text };
    const written = formatToolCalls(
      calls.map(call => ({ name: call.name, arguments: call.args })),
      { format: options.toolCallFormat },
    );
    return { role: roleOf(message), content: text.length > 0 ? `${text}\n${written}` : written };
  });
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
