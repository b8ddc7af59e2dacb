import { InvalidArgumentError, type ChatMessage } from '@decodekit/core';
import {
  JSON_TOOL_CALL_FORMAT,
  formatToolCalls,
  withToolPrompt,
  type ToolChoice,
  type ToolDefinition,
} from '@decodekit/strategy-constrained';
import type { ChatMessageBody } from './request-schemas.js';

/**
 * Turns OpenAI chat messages into decodekit chat messages for the tokenizer's chat template. `developer`
 * reads as `system`; an assistant's tool calls are rendered in the call format the tool constraint
 * enforces (`JSON_TOOL_CALL_FORMAT`: one JSON object per call), so the model sees its own earlier calls;
 * tool results are `tool` turns. With active tools, the tool prompt (`withToolPrompt`: one signature line per tool) is
 * added to the system message.
 */
export function toChatMessages(
  messages: readonly ChatMessageBody[],
  tools: readonly ToolDefinition[],
  toolChoice: ToolChoice,
): ChatMessage[] {
  const chat: ChatMessage[] = messages.map((message, index) => ({
    role: message.role === 'developer' ? 'system' : message.role,
    content: contentOf(message, index),
  }));
  return withToolPrompt(chat, tools, {
    toolChoice,
    format: JSON_TOOL_CALL_FORMAT,
  });
}

function contentOf(message: ChatMessageBody, index: number): string {
  const { content } = message;
  let text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.map(part => part.text).join('')
        : '';
  if (message.role === 'assistant' && message.tool_calls?.length) {
    const calls = message.tool_calls.map((call, callIndex) => {
      let args: unknown;
      try {
        args = JSON.parse(call.function.arguments);
      } catch {
        throw new InvalidArgumentError({
          argument: `messages[${index}].tool_calls[${callIndex}].function.arguments`,
          message: 'is not JSON text.',
        });
      }
      return { name: call.function.name, arguments: args };
    });
    const written = formatToolCalls(calls, { format: JSON_TOOL_CALL_FORMAT });
    text = [text, written].filter(part => part.length > 0).join('\n');
  }
  return text;
}
