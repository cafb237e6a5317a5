/**
 * Keyboard and screen-reader wiring of the lab page: skip links, the file/map tabs' arrow keys,
 * what Tab does in the editor (shown, and switchable with Ctrl+M as in VS Code), the terminal's
 * screen-reader mode, and the live region that announces check results as they change.
 */
import type { LabReport } from '../../shared/lab-results.ts';
import { checkChanges } from './check-changes.ts';
import { makeScrollableCodeFocusable } from './render.ts';

/** Skip links (`a[data-skip]`) move the keyboard focus to the part they name. */
export function wireSkipLinks(targets: Record<string, () => void>): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>('a[data-skip]')) {
    link.addEventListener('click', (event) => {
      const focus = targets[link.dataset.skip ?? ''];
      if (!focus) return;
      event.preventDefault();
      focus();
    });
  }
}

/**
 * The ARIA tabs pattern on `tablist`: one tab stop (the selected tab); Left/Right, Home and End
 * move between tabs and open the one reached.
 */
export function wireTabList(tablist: HTMLElement): void {
  tablist.addEventListener('keydown', (event) => {
    const tabs = [...tablist.querySelectorAll<HTMLElement>('[role="tab"]')];
    const current = tabs.indexOf(document.activeElement as HTMLElement);
    if (current < 0) return;
    const next = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const tab = tabs[(next + tabs.length) % tabs.length]!;
    tab.click();
    tab.focus();
  });
}

/** Keeps exactly the selected tab in the Tab order (call after the tabs change). */
export function rovingTabIndex(tablist: HTMLElement): void {
  const tabs = [...tablist.querySelectorAll<HTMLElement>('[role="tab"]')];
  const selected = tabs.find((tab) => tab.getAttribute('aria-selected') === 'true') ?? tabs[0];
  for (const tab of tabs) tab.tabIndex = tab === selected ? 0 : -1;
}

/** What Tab does in the editor, as the page's button and the editor's name say it. */
export interface TabKeyMode {
  movesFocus(): boolean;
  setMovesFocus(on: boolean): void;
  onChange(listener: (movesFocus: boolean) => void): void;
}

/**
 * Shows what Tab does on the editor's and the terminal's buttons, which also switch it (as Ctrl+M
 * does in either), and in the editor's accessible name.
 */
export function wireTabKeyButtons(buttons: { editor: HTMLButtonElement; terminal: HTMLButtonElement }, mode: TabKeyMode, setEditorLabel: (label: string) => void): void {
  const show = (movesFocus: boolean) => {
    buttons.editor.textContent = movesFocus ? 'Tab moves focus · Ctrl+M: Tab indents' : 'Tab indents · Ctrl+M: Tab moves focus';
    buttons.terminal.textContent = movesFocus ? 'Tab moves focus · Ctrl+M: Tab completes' : 'Tab completes · Ctrl+M: Tab moves focus';
    for (const button of Object.values(buttons)) button.dataset.tabMovesFocus = String(movesFocus);
    setEditorLabel(`Manifest editor. ${movesFocus ? 'Tab moves the focus on; Ctrl+M makes Tab indent.' : 'Tab indents; Ctrl+M makes Tab move the focus on.'}`);
  };
  for (const button of Object.values(buttons)) button.onclick = () => mode.setMovesFocus(!mode.movesFocus());
  mode.onChange(show);
  show(mode.movesFocus());
}

const SCREEN_READER_KEY = 'daemonset-lab:terminal-screen-reader';

/** Whether the learner turned on the terminal's screen-reader mode (remembered per browser). */
export function screenReaderModeWanted(): boolean {
  return localStorage.getItem(SCREEN_READER_KEY) === 'true';
}

/** The terminal's screen-reader mode switch (a toggle button, aria-pressed). */
export function wireScreenReaderButton(button: HTMLButtonElement, apply: (on: boolean) => void): void {
  const set = (on: boolean) => {
    button.setAttribute('aria-pressed', String(on));
    localStorage.setItem(SCREEN_READER_KEY, String(on));
    apply(on);
  };
  button.onclick = () => set(button.getAttribute('aria-pressed') !== 'true');
  button.setAttribute('aria-pressed', String(screenReaderModeWanted()));
}

/**
 * Announces, through the polite live region `region`, what changed between the reports it is
 * given: checks that now pass or fail again, steps done, the lab complete.
 */
export function checkAnnouncer(region: HTMLElement): (report: LabReport) => void {
  let previous: LabReport | undefined;
  return (report) => {
    const sentences = checkChanges(previous, report);
    if (!report.environment) previous = report;
    if (!sentences.length) return;
    // Clear first so that the same sentence said twice is announced twice.
    region.textContent = '';
    requestAnimationFrame(() => (region.textContent = sentences.join(' ')));
  };
}

/** Keeps `host`'s sideways-scrolling code blocks reachable by keyboard as it is resized. */
export function keepCodeScrollable(host: HTMLElement): () => void {
  const update = () => makeScrollableCodeFocusable(host);
  new ResizeObserver(update).observe(host);
  return update;
}

/**
 * Gives `host` a tab stop and a name only while its content overflows it, so keyboard users can
 * scroll it; a box that fits stays out of the Tab order.
 */
export function focusableWhileScrolling(host: HTMLElement, label: string): void {
  const update = () => {
    const scrolls = host.scrollHeight > host.clientHeight + 1 || host.scrollWidth > host.clientWidth + 1;
    if (scrolls === (host.getAttribute('tabindex') === '0')) return;
    if (scrolls) {
      host.tabIndex = 0;
      host.setAttribute('role', 'region');
      host.setAttribute('aria-label', label);
    } else {
      host.removeAttribute('tabindex');
      host.removeAttribute('role');
      host.removeAttribute('aria-label');
    }
  };
  new ResizeObserver(update).observe(host);
  new MutationObserver(update).observe(host, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['hidden'] });
}
