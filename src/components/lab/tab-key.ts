/**
 * What Tab does in the editor and the terminal: Monaco's tab focus switch, which its Ctrl+M action
 * toggles. Only that small module is imported here, so the terminal can use the switch before the
 * editor (most of the lab page's script) has loaded.
 */
// @ts-expect-error -- untyped internal module: the switch Monaco's own Ctrl+M action toggles.
import { TabFocus } from 'monaco-editor/esm/vs/editor/browser/config/tabFocus.js';

/** Monaco's global "Tab moves focus" switch (what VS Code calls tab focus mode). */
interface TabFocusSwitch {
  getTabFocusMode(): boolean;
  setTabFocusMode(on: boolean): void;
  onDidChangeTabFocus(listener: (on: boolean) => void): { dispose(): void };
}
const tabFocus = TabFocus as TabFocusSwitch;
const TAB_MODE_KEY = 'daemonset-lab:tab-indents';

/**
 * What Tab does in the editor. By default Tab moves the focus on (no keyboard trap: the terminal,
 * Check and the steps stay reachable); Ctrl+M, as in VS Code, switches Tab to indenting and back.
 * The learner's choice is remembered.
 */
export const tabKey = {
  movesFocus: (): boolean => tabFocus.getTabFocusMode(),
  setMovesFocus(on: boolean): void {
    tabFocus.setTabFocusMode(on);
  },
  onChange(listener: (movesFocus: boolean) => void): void {
    tabFocus.onDidChangeTabFocus((on) => {
      try {
        localStorage.setItem(TAB_MODE_KEY, String(!on));
      } catch {
        // Storage disabled: the choice lasts until the page closes.
      }
      listener(on);
    });
  },
};
tabFocus.setTabFocusMode(localStorage.getItem(TAB_MODE_KEY) !== 'true');
