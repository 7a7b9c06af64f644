import { sentence } from "./errors";

export function ErrorLine({ error }: { error: Parameters<typeof sentence>[0] }) {
  const text = sentence(error);
  return text ? (
    <p role="alert" className="error">
      {text}
    </p>
  ) : null;
}
