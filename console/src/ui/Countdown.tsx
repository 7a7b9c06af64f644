import { useEffect, useState } from "react";
import { useSession } from "../session/session";

/** Time left until `expiresAt`, by the server's clock, ticking every second. */
export function Countdown({ expiresAt, onZero }: { expiresAt: string; onZero?: () => void }) {
  const { skewMs } = useSession();
  const left = () => Math.max(0, new Date(expiresAt).getTime() - (Date.now() + skewMs));
  const [ms, setMs] = useState(left);
  useEffect(() => {
    const timer = setInterval(() => {
      const now = left();
      setMs(now);
      if (now === 0) {
        clearInterval(timer);
        onZero?.();
      }
    }, 250);
    return () => clearInterval(timer);
  }, [expiresAt, skewMs]);
  const s = Math.ceil(ms / 1000);
  return (
    <span className="countdown" role="timer" aria-label="Time left">
      {ms === 0 ? "time is up" : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} left`}
    </span>
  );
}
