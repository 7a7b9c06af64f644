import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { chooseApi } from "./session/api";
import { App } from "./session/App";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);
void chooseApi().then((choice) =>
  root.render(
    <StrictMode>
      {"refused" in choice ? (
        <main className="signin">
          <h1>Baton</h1>
          <p role="alert">{choice.refused}</p>
          <p>
            <a href={window.location.pathname}>Use this server's own API</a>
          </p>
        </main>
      ) : (
        <App />
      )}
    </StrictMode>,
  ),
);
