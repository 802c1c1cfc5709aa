// The host's own page script: hands the widget a session token and listens to its events.
const el = document.getElementById("dc");
const log = document.getElementById("event-log");
const protect = document.getElementById("protect");
const dark = document.getElementById("dark");

el.getHostToken = async () => {
  // The demo backend serves one tenant; the browser tests ask for a fresh one per test, or a viewer (allowed only there).
  const params = new URLSearchParams(location.search);
  const q = new URLSearchParams();
  for (const k of ["tenant", "role"]) if (params.get(k)) q.set(k, params.get(k));
  const res = await fetch(`/api/session${q.size ? `?${q}` : ""}`, { method: "POST", credentials: "same-origin" });
  if (!res.ok) throw new Error(`session endpoint answered ${res.status}`);
  return (await res.json()).token;
};

function note(text) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} — ${text}`;
  log.prepend(li);
  while (log.children.length > 20) log.lastElementChild.remove();
}

el.addEventListener("dc-connection-created", (e) => note(`connection created: ${e.detail.connection.name}`));
el.addEventListener("dc-connection-authorized", (e) => note(`connection authorized: ${e.detail.connection.name}`));
el.addEventListener("dc-job-saved", (e) => note(`job saved: ${e.detail.job.name}`));
el.addEventListener("dc-run-started", (e) => note(`run started: ${e.detail.runId}`));
el.addEventListener("dc-run-finished", (e) => note(`run finished: ${e.detail.run.status}`));
el.addEventListener("dc-error", (e) => note(`error (${e.detail.action}): ${e.detail.error.message}`));
el.addEventListener("dc-request-delete", (e) => {
  if (protect.checked) {
    e.preventDefault();
    note(`deletion of ${e.detail.kind} “${e.detail.name}” blocked by the host setting`);
  } else note(`deletion of ${e.detail.kind} “${e.detail.name}” allowed`);
});

dark.addEventListener("change", () => {
  document.documentElement.classList.toggle("dark", dark.checked);
  el.setAttribute("theme", dark.checked ? "dark" : "light");
});
