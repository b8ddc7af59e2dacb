/**
 * A tiny element builder. Text goes in through `textContent` only (strings among the children become text
 * nodes): nothing here ever parses HTML, so model output and user input cannot inject markup.
 */
type Child = Node | string | number | false | null | undefined;

type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<TTag extends keyof HTMLElementTagNameMap>(
  tag: TTag,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[TTag] {
  const element = document.createElement(tag);
  apply(element, attributes);
  append(element, children);
  return element;
}

const svgNamespace = 'http://www.w3.org/2000/svg';

export function svg<TTag extends keyof SVGElementTagNameMap>(
  tag: TTag,
  attributes: Attributes = {},
  ...children: Child[]
): SVGElementTagNameMap[TTag] {
  const element = document.createElementNS(svgNamespace, tag);
  apply(element, attributes);
  append(element, children);
  return element;
}

function apply(element: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'style')
      throw new Error('inline style attributes are blocked by the CSP; use classes');
    else element.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(element: Element, children: Child[]): void {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    element.append(
      typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child))
        : child,
    );
  }
}

/** Replaces an element's children. */
export function replaceChildren(element: Element, ...children: Child[]): void {
  element.replaceChildren();
  append(element, children);
}
