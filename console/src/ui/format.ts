export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : "—");

/** WhatsApp's reply window as the chat page says it (issue #24). */
export function replyWindowText(endsAt: string | null, open: boolean): string {
  if (open && !endsAt) return "No reply window on this channel";
  if (!open) return endsAt ? "Closed: templates only" : "Closed until the customer writes: templates only";
  const minutes = Math.max(0, Math.floor((Date.parse(endsAt!) - Date.now()) / 60_000));
  const left = minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
  return `${left} left`;
}

export const seconds = (s: number | null | undefined): string => (s === null || s === undefined ? "—" : s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);

/** An API constant as words: "TIMED_OUT" -> "timed out". */
export const label = (constant: string): string => constant.toLowerCase().replace(/_/g, " ");
