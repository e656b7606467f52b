// Focus for a question as it appears: its first control, so it can be answered from the
// keyboard at once, unless the user is writing somewhere else (a composer with a draft,
// another field): their typing must never land in the question.

const CONTROLS = "input, select, textarea, button";

/** Whether focus sits in a field the user may be writing in (one holding text). */
function busyTyping(): boolean {
  const el = document.activeElement;
  if (el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement) {
    return el.value.trim() !== "";
  }
  return el instanceof HTMLElement && el.isContentEditable;
}

/** Svelte action: focus `node`'s first enabled control when it mounts, if `active`. */
export function focusFirst(node: HTMLElement, active: boolean): void {
  if (!active) return;
  // After the frame that lays the question out (the thread scrolls to it first).
  requestAnimationFrame(() => {
    if (busyTyping() || !node.isConnected) return;
    const first = [...node.querySelectorAll<HTMLElement>(CONTROLS)].find(
      (el) => !(el as HTMLButtonElement).disabled,
    );
    first?.focus({ preventScroll: true });
  });
}
