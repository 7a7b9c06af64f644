import { useState } from "react";

/**
 * Alerts while the tab is in the background (issue #26): a desktop notification and a short tone
 * for each notification, once the agent turned them on (the browser asks permission then, after
 * that click, never before). Kept in localStorage.
 */
export const ALERTS_KEY = "baton.alerts";

export let tone: AudioContext | null = null;

export function alertInBackground(text: string): void {
  if (localStorage.getItem(ALERTS_KEY) !== "on" || !document.hidden) return;
  if ("Notification" in window && Notification.permission === "granted") new Notification("Baton", { body: text });
  if (tone) {
    const osc = tone.createOscillator();
    const gain = tone.createGain();
    gain.gain.value = 0.05;
    osc.frequency.value = 880;
    osc.connect(gain).connect(tone.destination);
    osc.start();
    osc.stop(tone.currentTime + 0.15);
  }
}

export function AlertsToggle() {
  const [on, setOn] = useState(() => localStorage.getItem(ALERTS_KEY) === "on");
  return (
    <button
      aria-pressed={on}
      onClick={() => {
        const next = !on;
        setOn(next);
        localStorage.setItem(ALERTS_KEY, next ? "on" : "off");
        if (next) {
          tone ??= new AudioContext();
          if ("Notification" in window && Notification.permission === "default") void Notification.requestPermission();
        }
      }}
    >
      Alerts {on ? "on" : "off"}
    </button>
  );
}
