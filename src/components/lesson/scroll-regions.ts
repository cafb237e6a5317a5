/**
 * Makes the parts of a lesson that scroll sideways usable by keyboard and distinguishable by
 * screen readers (WCAG 2.1.1; axe-core `scrollable-region-focusable` and `landmark-unique`).
 *
 * - Code blocks: Expressive Code gives a `<pre>` that scrolls `tabindex="0"` and
 *   `role="region"` (and takes both away when the block fits again). A region needs a name of its
 *   own, or a screen reader lists several identical "region" landmarks: this names each one after
 *   its frame title, or by its position. The name goes with the role, since `aria-label` is not
 *   allowed on a plain `<pre>`.
 * - Tables: Starlight lets a wide table scroll inside the text column (on phones). Such a table
 *   gets a tab stop while it scrolls; it keeps its table role, so it stays a table to screen readers.
 */

const CODE_BLOCKS = '.expressive-code pre';
const TABLES = '.sl-markdown-content table';

function nameCodeBlock(pre: HTMLElement, position: number): void {
  if (pre.getAttribute('role') !== 'region') {
    if (pre.dataset.regionLabel !== undefined) {
      pre.removeAttribute('aria-label');
      delete pre.dataset.regionLabel;
    }
    return;
  }
  if (pre.dataset.regionLabel !== undefined) return;
  const title = pre.closest('figure')?.querySelector('.title')?.textContent?.trim();
  const language = pre.dataset.language && pre.dataset.language !== 'text' ? ` (${pre.dataset.language})` : '';
  const label = title ? `Code: ${title}` : `Code example ${position}${language}`;
  pre.dataset.regionLabel = label;
  pre.setAttribute('aria-label', label);
}

function nameCodeBlocks(): void {
  document.querySelectorAll<HTMLElement>(CODE_BLOCKS).forEach((pre, index) => nameCodeBlock(pre, index + 1));
}

function updateTable(table: HTMLElement): void {
  const scrolls = table.scrollWidth > table.clientWidth + 1;
  if (scrolls) table.tabIndex = 0;
  else table.removeAttribute('tabindex');
}

/** Keeps scrollable code blocks named and wide tables reachable as the page is resized. */
export function watchScrollRegions(): void {
  nameCodeBlocks();
  new MutationObserver(nameCodeBlocks).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['role'] });
  const tables = new ResizeObserver((entries) => entries.forEach((entry) => updateTable(entry.target as HTMLElement)));
  document.querySelectorAll<HTMLElement>(TABLES).forEach((table) => {
    updateTable(table);
    tables.observe(table);
  });
}
