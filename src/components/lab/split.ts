/**
 * Resizable panes: a splitter sets a CSS variable (a percentage) on its container, by pointer
 * drag or arrow keys, and remembers it in localStorage.
 */

/** Makes `handle` resize `container` along `axis` through the CSS variable `property`. */
export function makeSplitter(handle: HTMLElement, container: HTMLElement, axis: 'x' | 'y', property: string, storageKey: string, onResize: () => void): void {
  const set = (percent: number) => {
    const clamped = Math.min(80, Math.max(15, percent));
    container.style.setProperty(property, `${clamped}%`);
    handle.setAttribute('aria-valuenow', String(Math.round(clamped)));
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
    if (event.key === (axis === 'x' ? 'ArrowLeft' : 'ArrowUp')) set(current - step);
    else if (event.key === (axis === 'x' ? 'ArrowRight' : 'ArrowDown')) set(current + step);
  });
}
