/**
 * The demo host as a React app: the widget through the package's React wrapper (`dynamics-connector/react`), bundled
 * with the app (no script tag). Props are the element's properties, `on…` props its events with typed `detail`.
 */
import { StrictMode, useCallback, useState } from "react";
import { createRoot } from "react-dom/client";
import { DynamicsConnector } from "dynamics-connector/react";

const root = document.getElementById("root")!;
const config = { apiBase: root.dataset.apiBase!, clientId: root.dataset.clientId!, authority: root.dataset.authority! };

/** The host backend's session token (the demo server mints it; tests pick a fresh tenant through the page URL). */
async function getHostToken(): Promise<string> {
  const tenant = new URLSearchParams(location.search).get("tenant");
  const res = await fetch(`/api/session${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ""}`, { method: "POST", credentials: "same-origin" });
  if (!res.ok) throw new Error(`session endpoint answered ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

function App() {
  const [events, setEvents] = useState<string[]>([]);
  const [locale, setLocale] = useState("");
  const note = useCallback((text: string) => setEvents((list) => [text, ...list].slice(0, 20)), []);
  return (
    <main>
      <h1>Integrations</h1>
      <label>
        Widget language{" "}
        <select value={locale} onChange={(e) => setLocale(e.target.value)}>
          <option value="">Page language</option>
          <option value="en">English</option>
          <option value="de">Deutsch</option>
          <option value="fr">Français</option>
        </select>
      </label>
      <section className="integration" aria-label="Microsoft Dynamics 365 integration">
        <DynamicsConnector
          apiBase={config.apiBase}
          clientId={config.clientId}
          authority={config.authority}
          redirectUri="/signin-redirect.html"
          locale={locale}
          getHostToken={getHostToken}
          onConnectionCreated={(e) => note(`connection created: ${e.detail.connection.name}`)}
          onConnectionAuthorized={(e) => note(`connection authorized: ${e.detail.connection.name}`)}
          onError={(e) => note(`error (${e.detail.action}): ${e.detail.error.message}`)}
          onRequestDelete={(e) => note(`deletion of ${e.detail.kind} “${e.detail.name}” allowed`)}
        />
      </section>
      <section aria-labelledby="events-title">
        <h2 id="events-title">Integration activity (events from the widget)</h2>
        <ol id="event-log">
          {events.map((t, i) => (
            <li key={events.length - i}>{t}</li>
          ))}
        </ol>
      </section>
    </main>
  );
}

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
