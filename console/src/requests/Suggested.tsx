import { useQuery } from "urql";
import { SuggestionsQuery } from "./operations";

/** "Suggested": who the API ranks first for this chat, with its reasons (issue #24); choosing one selects them. */
export function Suggested({ chatId, kind, type, onChoose }: { chatId: string; kind: "ASSIGN" | "DISCUSS"; type: "USER" | "MANAGER"; onChoose: (id: string) => void }) {
  const [{ data }] = useQuery({ query: SuggestionsQuery, variables: { chatSessionId: chatId, kind, recipientType: type } });
  const list = data?.suggestedRecipients ?? [];
  if (list.length === 0) return null;
  return (
    <fieldset>
      <legend>Suggested</legend>
      <ul className="suggested" aria-label="Suggested">
        {list.map((s) => (
          <li key={s.user.id}>
            <button type="button" onClick={() => onChoose(s.user.id)}>
              {s.user.name}
            </button>{" "}
            <small>{s.reasons.join(" · ")}</small>
          </li>
        ))}
      </ul>
    </fieldset>
  );
}
