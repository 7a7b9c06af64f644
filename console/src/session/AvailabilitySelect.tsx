import { AVAILABILITY } from "../ui/labels";
import { useMutation } from "urql";
import { SetAvailabilityMutation } from "./operations";

/** My availability, shown to the whole organization; AWAY moves my pending requests on at once. */
export function AvailabilitySelect({ value }: { value: string }) {
  const [state, set] = useMutation(SetAvailabilityMutation);
  return (
    <label className="inline">
      <span className="visually-hidden">My availability</span>
      <select
        aria-label="My availability"
        value={value}
        disabled={state.fetching}
        onChange={(e) => void set({ availability: e.target.value as "AVAILABLE" | "BUSY" | "AWAY" })}
      >
        {AVAILABILITY.map((a) => (
          <option key={a.value} value={a.value}>
            {a.label}
          </option>
        ))}
      </select>
    </label>
  );
}
