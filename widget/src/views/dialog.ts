/** Native modal <dialog> helpers: the browser makes the page inert behind it; we restore focus on close. */
export function deepActiveElement(): HTMLElement | null {
  let el: Element | null = document.activeElement;
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
  return el as HTMLElement | null;
}

export function openModal(dialog: HTMLDialogElement | null | undefined, focus?: HTMLElement | null): void {
  if (!dialog || dialog.open) return;
  const returnTo = deepActiveElement();
  dialog.addEventListener(
    "close",
    () => {
      if (returnTo?.isConnected) returnTo.focus();
    },
    { once: true },
  );
  dialog.showModal();
  focus?.focus();
}
