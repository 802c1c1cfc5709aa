import { msg } from "@lit/localize";

/**
 * Display names for the jobs table without a Dynamics token (the table must not open a sign-in popup):
 * the common entities by their Dynamics display names (as Dynamics names them in the widget's language), others
 * title-cased from the logical name. A function: the names are read in the current language.
 */
const known = (): Record<string, string> => ({
  account: msg("Account"),
  contact: msg("Contact"),
  systemuser: msg("User"),
  lead: msg("Lead"),
  opportunity: msg("Opportunity"),
  incident: msg("Case"),
  transactioncurrency: msg("Currency"),
  team: msg("Team"),
  businessunit: msg("Business Unit"),
  task: msg("Task"),
  email: msg("Email"),
  phonecall: msg("Phone Call"),
  appointment: msg("Appointment"),
});

export function entityDisplayName(logicalName: string): string {
  const name = known()[logicalName];
  if (name) return name;
  // Custom entities carry a publisher prefix (new_project → Project).
  const bare = logicalName.includes("_") ? logicalName.slice(logicalName.indexOf("_") + 1) : logicalName;
  return (
    bare
      .split("_")
      .filter(Boolean)
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join(" ") || logicalName
  );
}

/** What an out-of-the-box job does, in one line ("" for a kind the widget does not know). */
export function builtInNote(kind: string): string {
  const notes: Record<string, string> = {
    company: msg("Created for you: copies your Accounts into Companies."),
    person: msg("Created for you: copies your Contacts into People, after Companies."),
    company_person: msg("Created for you: links each Contact to the Company of its parent Account."),
    user: msg("Created for you: copies your Dynamics users into Users."),
  };
  return notes[kind] ?? "";
}
