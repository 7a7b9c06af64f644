import { useState } from "react";
import { sentence } from "./errors";
import { Dialog } from "./Dialog";
import { ErrorLine } from "./ErrorLine";

export function ReasonDialog({
  title,
  action,
  presets,
  onCancel,
  onConfirm,
}: {
  title: string;
  action: string;
  presets: readonly string[];
  onCancel: () => void;
  onConfirm: (reason: string) => Promise<Parameters<typeof sentence>[0]>;
}) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<Parameters<typeof sentence>[0]>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog label={title} onClose={onCancel}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          void onConfirm(reason.trim()).then((err) => {
            setError(err ?? null);
            setBusy(false);
          });
        }}
      >
        <h2>{title}</h2>
        {presets.length > 0 && (
          <fieldset>
            <legend>Quick picks</legend>
            {presets.map((p) => (
              <label key={p} className="radio">
                <input type="radio" name="preset" checked={reason === p} onChange={() => setReason(p)} />
                {p}
              </label>
            ))}
          </fieldset>
        )}
        <label>
          Reason
          <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} required />
        </label>
        <ErrorLine error={error} />
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" disabled={busy || reason.trim() === ""}>
            {action}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
