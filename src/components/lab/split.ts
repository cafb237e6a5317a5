/**
 * Resizable panes: a splitter sets a CSS variable (a percentage) on its container, by pointer
 * drag or arrow keys, and remembers it in localStorage. The handle is an ARIA window splitter
 * (role="separator" with aria-valuenow/min/max in the page markup): arrow keys move it, Shift
 * moves it further, Home and End go to the limits.
 */

const MIN_PERCENT = 15;
const MAX_PERCENT = 80;

/** Makes `handle` resize `container` along `axis` through the CSS variable `property`. */
export function makeSplitter(handle: HTMLElement, container: HTMLElement, axis: 'x' | 'y', property: string, storageKey: string, onResize: () => void): void {
  const set = (percent: number) => {
    const clamped = Math.min(MAX_PERCENT, Math.max(MIN_PERCENT, percent));
    container.style.setProperty(property, `${clamped}%`);
    handle.setAttribute('aria-valuenow', String(Math.round(clamped)));
    handle.setAttribute('aria-valuetext', `${Math.round(clamped)} percent`);
    localStorage.setItem(storageKey, String(clamped));
    onResize();
  };
  const stored = Number(localStorage.getItem(storageKey));
  if (stored) set(stored);
  handle.addEventListener('pointerdown', (down) => {
    down.preventDefault();
    handle.setPointerCapture(down.pointerId);
    const box = container.getBoundingClientRect();
    const move = (event: PointerEvent) => {
      set(axis === 'x' ? ((event.clientX - box.left) / box.width) * 100 : ((event.clientY - box.top) / box.height) * 100);
    };
    const up = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
  });
  handle.addEventListener('keydown', (event) => {
    const current = Number(handle.getAttribute('aria-valuenow') ?? 40);
    const step = event.shiftKey ? 10 : 2;
    const target = {
      [axis === 'x' ? 'ArrowLeft' : 'ArrowUp']: current - step,
      [axis === 'x' ? 'ArrowRight' : 'ArrowDown']: current + step,
      Home: MIN_PERCENT,
      End: MAX_PERCENT,
    }[event.key];
    if (target === undefined) return;
    event.preventDefault();
    set(target);
  });
}
