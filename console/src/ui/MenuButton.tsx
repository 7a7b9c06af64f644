import { useEffect, useId, useRef, useState } from "react";

/**
 * A menu button (the WAI-ARIA menu-button pattern): Enter, Space or ArrowDown opens the menu on its
 * first item, ArrowUp on its last; ArrowUp/ArrowDown move (wrapping), Home and End jump; Escape
 * closes it and gives focus back to the button; Tab or a click outside closes it. A disabled item
 * stays reachable (aria-disabled) and does nothing.
 */
export function MenuButton({ label, items }: { label: string; items: Array<{ label: string; disabled?: boolean; onSelect: () => void }> }) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const id = useId();
  useEffect(() => {
    if (open) list.current?.querySelectorAll<HTMLElement>('[role="menuitem"]')[active]?.focus();
  }, [open, active]);
  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      if (!button.current?.parentElement?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", outside);
    return () => document.removeEventListener("mousedown", outside);
  }, [open]);
  const openAt = (i: number) => {
    setActive(i);
    setOpen(true);
  };
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const n = items.length;
  const keys: Record<string, () => void> = {
    ArrowDown: () => setActive((a) => (a + 1) % n),
    ArrowUp: () => setActive((a) => (a - 1 + n) % n),
    Home: () => setActive(0),
    End: () => setActive(n - 1),
    Escape: close,
  };
  return (
    <div className="menu-wrap">
      <button
        ref={button}
        id={`${id}-button`}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? `${id}-menu` : undefined}
        onClick={() => (open ? setOpen(false) : openAt(0))}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            openAt(e.key === "ArrowDown" ? 0 : n - 1);
          }
        }}
      >
        {label}
      </button>
      {open && (
        <ul
          ref={list}
          id={`${id}-menu`}
          role="menu"
          aria-labelledby={`${id}-button`}
          className="menu"
          onKeyDown={(e) => {
            if (e.key === "Tab") setOpen(false);
            const act = keys[e.key];
            if (!act) return;
            e.preventDefault();
            act();
          }}
        >
          {items.map((item, i) => (
            <li role="none" key={item.label}>
              <button
                role="menuitem"
                tabIndex={i === active ? 0 : -1}
                aria-disabled={item.disabled || undefined}
                onClick={() => {
                  if (item.disabled) return;
                  close();
                  item.onSelect();
                }}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
