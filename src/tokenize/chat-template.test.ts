import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../errors.js';
import { PairChatTemplate } from './chat-template.js';

// A template in the layout sentence-transformers 6 expects of a reranker: roles `query` and `document`, an optional
// `system` message carrying the instruction.
const FLAT = [
  "{%- set ns = namespace(task='default task') -%}",
  "{%- for m in messages -%}{%- if m.role == 'system' -%}{%- set ns.task = m.content -%}{%- endif -%}{%- endfor -%}",
  '{{ eos_token }}<task>{{ ns.task }}',
  "{%- for m in messages if m.role != 'system' %}",
  '<{{ m.role }}>{{ m.content }}',
  '{%- endfor %}',
  '',
].join('\n');
const STRUCTURED = '{% for m in messages %}[{{ m.role }}:{{ m.content[0].text }}]{% endfor %}';

describe('PairChatTemplate', () => {
  // Expected strings are what transformers 5.24's render_jinja_template gives for the same template and messages.
  it('renders the pair as query and document messages, the instruction as a system message', () => {
    const template = new PairChatTemplate(FLAT, 'flat', { eos_token: '</s>' }, 'chat_template.jinja');
    expect(template.render('what is x', 'x is y', undefined)).toBe(
      '</s><task>default task<query>what is x<document>x is y',
    );
    expect(template.render('q', 'd', 'judge it')).toBe('</s><task>judge it<query>q<document>d');
    // sentence-transformers adds no system message for an empty prompt: the template's default stays.
    expect(template.render('q', 'd', '')).toBe('</s><task>default task<query>q<document>d');
  });

  it('hands typed parts to a template that reads them', () => {
    expect(PairChatTemplate.inferFormat(STRUCTURED, 'qwen3')).toBe('structured');
    expect(PairChatTemplate.inferFormat(FLAT, 'qwen3')).toBe('flat');
    expect(PairChatTemplate.inferFormat(STRUCTURED, 'gpt_oss')).toBe('flat');
    const template = new PairChatTemplate(STRUCTURED, 'structured', {}, 'x');
    expect(template.render('q', 'd', 'i')).toBe('[system:i][query:q][document:d]');
  });

  it('refuses a template that does not parse, naming the file', () => {
    expect(() => new PairChatTemplate('{% for %}', 'flat', {}, 'chat_template.jinja')).toThrow(ModelFormatError);
    expect(() => new PairChatTemplate('{% for %}', 'flat', {}, 'chat_template.jinja')).toThrow(/chat_template.jinja/);
  });
});
