/**
 * Run e-mails arrive: the stack's edge sends over SMTP to the local catcher (maildev, demo/stack.ts), whose web inbox
 * shows them. The job gets a recipient through the API (the editor is not what this test is about); the run starts
 * from the widget, and the message is read in the catcher's inbox in the browser.
 */
import { authorizedContoso, edgeApi, expect, jobRow, test } from "./fixtures";

const mailUrl = () => {
  const u = process.env.E2E_MAIL_URL;
  if (!u) throw new Error("The e2e stack has no mail catcher (global setup did not run).");
  return u;
};

interface CaughtMail {
  id: string;
  subject: string;
  text?: string;
  to: Array<{ address: string }>;
}

test("a finished run's e-mail arrives in the inbox: outcome, counts and a link to the run", async ({ page, tenant, context }) => {
  const w = await authorizedContoso(page, tenant);
  const recipient = `ops-${tenant}@acme-success.example`;
  const jobs = await edgeApi<Array<Record<string, unknown> & { id: string; name: string }>>(tenant, "GET", "/jobs");
  const users = jobs.find((j) => j.name === "Users → Users");
  if (!users) throw new Error(`no "Users → Users" job: ${jobs.map((j) => j.name).join(", ")}`);
  const { id: _i, createdAt: _c, updatedAt: _u, builtIn: _b, warnings: _w, lastRun: _l, ...input } = users;
  const notify = { onSuccess: [recipient], onPartial: [recipient], onFailure: [recipient], webhook: null };
  await edgeApi(tenant, "PUT", `/jobs/${users.id}`, { ...input, notify });

  const finished = page.evaluate(
    () =>
      new Promise<{ id: string; status: string }>((ok) =>
        document
          .querySelector("dynamics-connector")!
          .addEventListener("dc-run-finished", (e) => ok({ id: (e as CustomEvent).detail.run.id, status: (e as CustomEvent).detail.run.status }), {
            once: true,
          }),
      ),
  );
  await jobRow(w, "Users → Users").getByRole("button", { name: "Run now" }).click();
  const run = await finished;
  expect(["succeeded", "partial"]).toContain(run.status);
  const outcome = run.status;

  // The message is in the catcher (sent at the run's end, or by the next cron tick's retry).
  let mail: CaughtMail | undefined;
  await expect
    .poll(
      async () => {
        const all = (await (await fetch(`${mailUrl()}/api/email`)).json()) as CaughtMail[];
        mail = all.find((m) => m.to.some((t) => t.address === recipient));
        return mail?.subject;
      },
      { timeout: 60_000 },
    )
    .toBe(`[${outcome}] Users → Users`);
  expect(mail!.text).toContain(`Run: ${run.id}`);
  expect(mail!.text).toMatch(/Read \d+, inserted \d+/);
  expect(mail!.text).toContain(`#dc-run=${run.id}`);

  // …and the inbox shows it in the browser.
  const inbox = await context.newPage();
  await inbox.goto(mailUrl());
  await expect(inbox.getByText(recipient).first()).toBeVisible({ timeout: 30_000 });
  await inbox.getByText(recipient).first().click();
  await expect(inbox.getByText(`[${outcome}] Users → Users`).first()).toBeVisible();
});
