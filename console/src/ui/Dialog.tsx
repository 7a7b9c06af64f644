import { useEffect, useRef } from "react";
import type { ReactNode } from "react";

/**
 * A modal dialog on the native <dialog> element (focus trap, Escape, the dialog role). When it
 * closes, focus goes back to what opened it (when that is still on the page), not to <body>.
 */
export function Dialog({ label, onClose, children }: { label: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    const opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
    if (d && !d.open) d.showModal();
    return () => {
      d?.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} aria-label={label} onCancel={onClose} className="dialog">
      {children}
    </dialog>
  );
}
