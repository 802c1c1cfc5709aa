import {
  authorize,
  authorizedContoso,
  createConnection,
  deleteTenantConnections,
  edgeApi,
  env,
  expect,
  jobRow,
  openHost,
  signInPopup,
  test,
  userToken,
} from "./fixtures";

test("shows the empty state with one sentence and Create connection", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  await expect(widget.getByText("A connection links this product to one Dynamics 365 environment")).toBeVisible();
  await expect(widget.getByRole("button", { name: "Create connection" })).toBeVisible();
});

test("validates the environment URL as the admin types, with the .api. hint and the path trim shown", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  await widget.getByRole("button", { name: "Create connection" }).click();
  const url = widget.getByLabel("Environment URL");
  await url.fill("https://example.com/foo");
  await expect(widget.getByText("This is not a Dynamics 365 address")).toBeVisible();
  await expect(url).toHaveAttribute("aria-invalid", "true");
  await url.fill("https://contoso.api.crm4.dynamics.com/main.aspx?appid=123");
  await expect(url).toHaveAttribute("aria-invalid", "false");
  await expect(widget.getByText("https://contoso.crm4.dynamics.com", { exact: true })).toBeVisible();
  await expect(widget.getByText(/The Web API address \(\.api\.\) was changed/)).toBeVisible();
  await expect(widget.getByText(/“\/main\.aspx\?appid=123” was removed/)).toBeVisible();
});

test("creates a connection and emits dc-connection-created", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  const created = page.evaluate(
    () =>
      new Promise<string>((ok) =>
        document
          .querySelector("dynamics-connector")!
          .addEventListener("dc-connection-created", (e) => ok((e as CustomEvent).detail.connection.name), { once: true }),
      ),
  );
  await createConnection(page, "Contoso Production", env().org("contoso").url);
  expect(await created).toBe("Contoso Production");
  await expect(widget.locator("dc-connection-card .chip").first()).toHaveText("Not authorized");
  await expect(widget.getByRole("navigation", { name: "Breadcrumb" })).toContainText("Contoso Production");
});

test("a wrong environment URL gets the edge's clear error", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  await widget.getByRole("button", { name: "Create connection" }).click();
  await widget.getByLabel("Name", { exact: true }).fill("Typo");
  // Passes the widget's loopback rule but is not an allowed org host on the edge.
  await widget.getByLabel("Environment URL").fill("http://127.0.0.1:1");
  await widget.getByRole("button", { name: "Create connection" }).click();
  await expect(widget.getByRole("alert").filter({ hasText: "The connection was not created." })).toBeVisible();
  await expect(widget.getByLabel("Environment URL")).toHaveAttribute("aria-invalid", "true");
});

test("renames a connection in a dialog", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  const card = await createConnection(page, "Old name", env().org("contoso").url);
  await card.getByRole("button", { name: "Rename" }).click();
  const input = widget.getByRole("dialog", { name: "Rename connection" }).getByLabel("Name");
  await expect(input).toBeFocused();
  await input.fill("New name");
  await input.press("Enter");
  await expect(widget.locator("dc-connection-card").first()).toContainText("New name");
  await expect(widget.getByRole("dialog")).toHaveCount(0);
  await expect(widget.locator("dc-connection-card").first().getByRole("button", { name: "Rename" })).toBeFocused();
});

test("the host vetoes a delete through dc-request-delete and nothing is deleted", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  await createConnection(page, "Keep me", env().org("contoso").url);
  await page.getByLabel("Protect integrations from deletion").check();
  const card = widget.locator("dc-connection-card").first();
  await card.getByRole("button", { name: "Delete" }).click();
  await widget.getByRole("dialog").getByRole("button", { name: "Delete connection" }).click();
  await expect(card.getByRole("status")).toContainText("did not allow deleting “Keep me”");
  await expect(page.locator("#event-log")).toContainText("deletion of connection “Keep me” blocked by the host setting");
  await page.reload();
  await widget.getByRole("button", { name: "Open" }).waitFor();
  await expect(widget.locator("dc-connection-card")).toHaveCount(1);
});

test("deletes a connection after confirmation when the host allows it", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  await createConnection(page, "Delete me", env().org("contoso").url);
  const card = widget.locator("dc-connection-card").first();
  await card.getByRole("button", { name: "Delete" }).click();
  await widget.getByRole("dialog").getByRole("button", { name: "Delete connection" }).click();
  await expect(widget.getByText("A connection links this product")).toBeVisible();
  await expect(page.locator("#event-log")).toContainText("deletion of connection “Delete me” allowed");
});

test("authorizes in the Microsoft popup: readiness report and the out-of-the-box jobs appear", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  const authorized = page.evaluate(
    () =>
      new Promise<string>((ok) =>
        document
          .querySelector("dynamics-connector")!
          .addEventListener("dc-connection-authorized", (e) => ok((e as CustomEvent).detail.connection.status), { once: true }),
      ),
  );
  const card = await createConnection(page, "Contoso Production", env().org("contoso").url);
  const popupPromise = page.waitForEvent("popup");
  await card.getByRole("button", { name: "Authorize" }).click();
  const popup = await popupPromise;
  await expect(widget.getByText("Waiting for Microsoft sign-in…")).toBeVisible();
  await signInPopup(popup, "admin@contoso.example");
  expect(await authorized).toBe("authorized");
  await expect(widget.locator("dc-connection-card .chip").first()).toHaveText("Authorized");
  await expect(widget.locator("dc-connection-card")).toContainText("admin@contoso.example");
  const report = widget.locator("dc-readiness-report");
  await expect(report).toContainText("Signed in to Dynamics as admin@contoso.example");
  await expect(report.locator('[data-check="application_user"]')).toContainText("Application user");
  const jobs = widget.locator("dc-jobs-table");
  await expect(jobs.getByText("Accounts → Companies", { exact: true })).toBeVisible();
  await expect(jobs.getByText("Contacts → People", { exact: true })).toBeVisible();
  await expect(jobs.getByText("Created for you: copies your Accounts into Companies.")).toBeVisible();
  await expect(jobRow(widget, "Contacts → People")).toContainText("Runs after “Accounts → Companies”");
});

test("cancelling the sign-in returns the card to its previous state", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  const card = await createConnection(page, "Contoso", env().org("contoso").url);
  const popupPromise = page.waitForEvent("popup");
  await card.getByRole("button", { name: "Authorize" }).click();
  const popup = await popupPromise;
  await widget.getByRole("button", { name: "Cancel" }).click();
  await expect(widget.getByText("Sign-in was cancelled. Nothing changed.")).toBeVisible();
  await expect.poll(() => popup.isClosed()).toBe(true);
  await expect(card.getByRole("button", { name: "Authorize" })).toBeVisible();
  await expect(widget.locator("dc-connection-card .chip").first()).toHaveText("Not authorized");
});

test("a blocked popup gets a message and a retry button that works", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  const card = await createConnection(page, "Contoso", env().org("contoso").url);
  // Simulate the browser's popup blocker for the first attempt only.
  await page.evaluate(() => {
    const open = window.open.bind(window);
    let blocked = false;
    window.open = ((...args: Parameters<typeof window.open>) => {
      if (!blocked) {
        blocked = true;
        return null;
      }
      return open(...args);
    }) as typeof window.open;
  });
  await card.getByRole("button", { name: "Authorize" }).click();
  await expect(widget.getByText("The sign-in window was blocked.")).toBeVisible();
  const popupPromise = page.waitForEvent("popup");
  await widget.getByRole("button", { name: "Try again" }).click();
  await signInPopup(await popupPromise, "admin@contoso.example");
  await expect(widget.locator("dc-connection-card .chip").first()).toHaveText("Authorized", { timeout: 30_000 });
});

test("a user without read privilege gets a readiness message naming the privilege", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  const card = await createConnection(page, "Contoso limited", env().org("contoso").url);
  await authorize(page, card, "limited@contoso.example");
  const report = widget.locator("dc-readiness-report");
  await expect(report).toContainText(/prvReadContact/, { timeout: 30_000 });
});

test("re-authorizing keeps the connection and its jobs", async ({ page, tenant, widget }) => {
  await authorizedContoso(page, tenant);
  const card = widget.locator("dc-connection-card").first();
  await authorize(page, card);
  await expect(widget.locator("dc-connection-card .chip").first()).toHaveText("Authorized");
  await expect(widget.locator("dc-jobs-table").getByText("Accounts → Companies", { exact: true })).toBeVisible();
});

test("authorizing an org another host account already connected shows the 409 message and creates nothing", async ({ page, tenant, widget }) => {
  const o = env().org("contoso");
  // Another host account connected this org first (through the API, as its own admin would have).
  const other = `e2e-other-${tenant}`;
  const accessToken = await userToken("admin@contoso.example", o.url);
  const theirs = await edgeApi<{ id: string }>(other, "POST", "/connections", { name: "Theirs", orgUrl: o.url });
  try {
    await edgeApi(other, "POST", `/connections/${theirs.id}/authorize`, { accessToken });
    await openHost(page, tenant);
    const card = await createConnection(page, "Ours", o.url);
    await authorize(page, card);
    await expect(
      widget
        .getByRole("alert")
        .filter({ hasText: "This Dynamics organization is already connected to another account. Its administrator must disconnect it there first." }),
    ).toBeVisible();
    await expect(widget.locator("dc-connection-card .chip").first()).toHaveText("Not authorized");
    expect(await edgeApi<unknown[]>(tenant, "GET", "/jobs")).toEqual([]);
  } finally {
    await deleteTenantConnections(other);
  }
});

test("the readiness report names the missing Organization read depth of the signing-in user", async ({ page, tenant, widget }) => {
  await openHost(page, tenant);
  const card = await createConnection(page, "Contoso Basic", env().org("contoso").url);
  await authorize(page, card, "basic@contoso.example");
  const report = widget.locator("dc-readiness-report");
  await expect(report.locator('[data-check="privilege:contact"]')).toContainText("prvReadContact: User (Basic)");
  await expect(report.locator('[data-check="privilege:contact"]')).toContainText("Organization-level Read");
  await expect(widget.locator("dc-connection-card .chip").first()).toHaveText("Needs attention");
});
