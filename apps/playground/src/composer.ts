import {
  fieldsOf,
  processorById,
  processors,
  samplingFields,
  strategies,
  strategyById,
  type OptionField,
  type OptionValue,
} from './catalog';
import { optionValue, parseField, type ProcessorChoice, type SideConfig } from './config';
import { h, replaceChildren } from './dom';

let fieldCounter = 0;

/** An input for one option field; calls `onValue` with parsed values. */
function fieldInput(
  field: OptionField,
  value: OptionValue,
  onValue: (value: OptionValue) => void,
  testId: string,
): HTMLElement {
  const id = `field-${++fieldCounter}`;
  let input: HTMLInputElement | HTMLSelectElement;
  if (field.kind === 'select') {
    input = h(
      'select',
      { id, 'data-testid': testId },
      ...field.choices.map(choice => h('option', { value: choice }, choice)),
    );
    input.value = String(value);
    input.addEventListener('change', () => onValue(input.value));
  } else if (field.kind === 'bool') {
    const box = h('input', { id, type: 'checkbox', 'data-testid': testId });
    box.checked = Boolean(value);
    box.addEventListener('change', () => onValue(box.checked));
    input = box;
  } else if (field.kind === 'text') {
    input = h('input', { id, type: 'text', 'data-testid': testId, maxlength: 200 });
    input.value = String(value);
    input.addEventListener('change', () => onValue(input.value));
  } else {
    input = h('input', {
      id,
      type: 'number',
      min: field.min,
      max: field.max,
      step: field.step ?? 1,
      'data-testid': testId,
    });
    input.value = String(value);
    input.addEventListener('change', () => {
      const parsed = parseField(field, input.value);
      if (parsed === undefined) {
        input.value = String(value);
        return;
      }
      input.value = String(parsed);
      onValue(parsed);
    });
  }
  return h(
    'label',
    { class: `field ${field.kind}`, for: id, title: field.help },
    h('span', {}, field.label),
    input,
  );
}

/**
 * The editor of one decoding configuration: strategy and its options, processors (in order), sampling
 * parameters. It redraws itself on every change and reports the new configuration.
 */
export function sideEditor(
  initial: SideConfig,
  onChange: (side: SideConfig) => void,
  testId: string,
): HTMLElement {
  const root = h('div', { class: 'side-editor', 'data-testid': testId });
  let side = initial;
  const update = (next: SideConfig): void => {
    side = next;
    onChange(side);
    draw();
  };

  const draw = (): void => {
    const entry = strategyById(side.strategy) ?? strategies[0];
    const strategySelect = h(
      'select',
      { 'data-testid': `${testId}-strategy`, 'aria-label': 'strategy' },
      ...strategies.map(strategy => h('option', { value: strategy.id }, strategy.label)),
    );
    strategySelect.value = entry.id;
    strategySelect.addEventListener('change', () =>
      update({ ...side, strategy: strategySelect.value, options: {} }),
    );

    const optionFields = fieldsOf(entry).map(field =>
      fieldInput(
        field,
        optionValue(side, field),
        value => update({ ...side, options: { ...side.options, [field.key]: value } }),
        `${testId}-opt-${field.key}`,
      ),
    );

    const processorRows = side.processors.map((choice, index) => {
      const processor = processorById(choice.id);
      if (!processor) throw new Error(`unknown processor "${choice.id}" in the composer state`);
      const setAt = (next: ProcessorChoice | undefined): void => {
        const list = [...side.processors];
        if (next) list[index] = next;
        else list.splice(index, 1);
        update({ ...side, processors: list });
      };
      return h(
        'li',
        { class: 'processor' },
        h('span', { class: 'processor-name' }, `${index + 1}. ${processor.label}`),
        fieldInput(
          processor.field,
          choice.value,
          value => setAt({ id: choice.id, value }),
          `${testId}-proc-${index}`,
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'icon',
            title: 'Remove',
            'aria-label': `remove ${processor.label}`,
            onclick: () => setAt(undefined),
          },
          '×',
        ),
      );
    });
    const addSelect = h(
      'select',
      { 'data-testid': `${testId}-add-processor`, 'aria-label': 'add a processor' },
      h('option', { value: '' }, '+ add processor…'),
      ...processors.map(processor => h('option', { value: processor.id }, processor.label)),
    );
    addSelect.addEventListener('change', () => {
      const processor = processorById(addSelect.value);
      if (processor)
        update({
          ...side,
          processors: [...side.processors, { id: processor.id, value: processor.field.default }],
        });
    });

    const samplingInputs = samplingFields.map(field =>
      fieldInput(
        field,
        side.sampling[field.key] ?? field.default,
        value => update({ ...side, sampling: { ...side.sampling, [field.key]: Number(value) } }),
        `${testId}-${field.key}`,
      ),
    );

    replaceChildren(
      root,
      h(
        'fieldset',
        {},
        h('legend', {}, 'Strategy'),
        strategySelect,
        h('p', { class: 'hint' }, entry.summary, ' ', h('code', {}, entry.packageName)),
        optionFields.length > 0 ? h('div', { class: 'grid' }, ...optionFields) : false,
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Processors'),
        side.processors.length > 0
          ? h('ol', { class: 'processors' }, ...processorRows)
          : h('p', { class: 'hint' }, 'None: the raw model distribution.'),
        addSelect,
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Sampling'),
        h('div', { class: 'grid' }, ...samplingInputs),
      ),
    );
  };
  draw();
  return root;
}
