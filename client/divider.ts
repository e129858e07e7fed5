// The draggable divider between lesson and terminal: pointer drag or arrow keys set the lesson pane's
// width through a CSS custom property (CSSOM is allowed by the CSP, style attributes are not), which
// the stylesheet uses only in the side-by-side layout. The width is remembered per browser.
const STORAGE_KEY = 'labrun.lessonWidth';
/** Narrowest panes that still read well: ~45 characters of prose, ~40 columns of terminal. */
const MIN_LESSON_PX = 320;
const MIN_TERMINAL_PX = 360;
/** Arrow-key step, in pixels. */
const KEY_STEP_PX = 32;

export function installDivider(layout: HTMLElement, divider: HTMLElement, onResized: () => void): void {
  const apply = (px: number): void => {
    const max = layout.clientWidth - MIN_TERMINAL_PX;
    const width = Math.round(Math.max(MIN_LESSON_PX, Math.min(px, max)));
    layout.style.setProperty('--lesson-width', `${width}px`);
    divider.setAttribute('aria-valuenow', String(width));
    try {
      localStorage.setItem(STORAGE_KEY, String(width));
    } catch {
      // Storage can be disabled; the divider still works for this page.
    }
  };
  const saved = Number(localStorage.getItem(STORAGE_KEY));
  if (Number.isFinite(saved) && saved > 0) layout.style.setProperty('--lesson-width', `${saved}px`);

  divider.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    divider.setPointerCapture(e.pointerId);
    layout.classList.add('is-dragging');
    const left = layout.getBoundingClientRect().left;
    const move = (ev: PointerEvent): void => apply(ev.clientX - left);
    const up = (): void => {
      divider.removeEventListener('pointermove', move);
      divider.removeEventListener('pointerup', up);
      divider.removeEventListener('pointercancel', up);
      layout.classList.remove('is-dragging');
      onResized();
    };
    divider.addEventListener('pointermove', move);
    divider.addEventListener('pointerup', up);
    divider.addEventListener('pointercancel', up);
  });
  divider.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const current = layout.firstElementChild?.getBoundingClientRect().width ?? MIN_LESSON_PX;
    apply(current + (e.key === 'ArrowLeft' ? -KEY_STEP_PX : KEY_STEP_PX));
    onResized();
  });
}
