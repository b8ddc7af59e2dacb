import type { LanguageModelV4Prompt, LanguageModelV4ToolResultOutput } from '@ai-sdk/provider';
import { InvalidArgumentError, type ChatMessage } from '@decodekit/core';
import {
  JSON_TOOL_CALL_FORMAT,
  formatToolCalls,
  withToolPrompt,
  type ToolChoice,
  type ToolDefinition,
} from '@decodekit/strategy-constrained';

/**
 * Turns an AI SDK prompt into decodekit chat messages for the tokenizer's chat template. Text parts are
 * joined; an assistant's tool calls are written in the call format the tool constraint enforces
 * (`JSON_TOOL_CALL_FORMAT`: `{"name":...,"arguments":...}`), so the model reads its own earlier calls; tool
 * results become `tool` turns; reasoning parts are dropped. With active tools, the tool prompt
 * (`withToolPrompt`: one signature line per tool) is added to the system message.
 *
 * @throws InvalidArgumentError for file (image, audio, PDF...) parts: decodekit models read text only.
 */
export function toChatMessages(
  prompt: LanguageModelV4Prompt,
  tools: readonly ToolDefinition[],
  toolChoice: ToolChoice,
): ChatMessage[] {
  const messages: ChatMessage[] = [];
  prompt.forEach((message, index) => {
    switch (message.role) {
      case 'system':
        messages.push({ role: 'system', content: message.content });
        return;
      case 'user':
        messages.push({
          role: 'user',
          content: message.content
            .map(part => {
              if (part.type === 'text') return part.text;
              if (part.data.type === 'text') return part.data.text;
              throw new InvalidArgumentError({
                argument: `prompt[${index}]`,
                message: `has a "${part.mediaType}" file part; decodekit models read text only. Send text parts.`,
              });
            })
            .join(''),
        });
        return;
      case 'assistant': {
        const pieces: string[] = [];
        for (const part of message.content) {
          if (part.type === 'text') pieces.push(part.text);
          else if (part.type === 'tool-call')
            pieces.push(
              formatToolCalls([{ name: part.toolName, arguments: part.input }], {
                format: JSON_TOOL_CALL_FORMAT,
              }),
            );
        }
        messages.push({ role: 'assistant', content: pieces.join('') });
        return;
      }
      case 'tool':
        for (const part of message.content) {
          if (part.type === 'tool-result')
            messages.push({ role: 'tool', content: outputText(part.output) });
        }
        return;
    }
  });
  return withToolPrompt(messages, tools, {
    toolChoice,
    format: JSON_TOOL_CALL_FORMAT,
  });
}

function outputText(output: LanguageModelV4ToolResultOutput): string {
  switch (output.type) {
    case 'text':
    case 'error-text':
      return output.value;
    case 'json':
    case 'error-json':
      return JSON.stringify(output.value);
    case 'execution-denied':
      return `The tool call was denied${output.reason ? `: ${output.reason}` : '.'}`;
    case 'content':
      return output.value.map(part => (part.type === 'text' ? part.text : '')).join('');
  }
}
